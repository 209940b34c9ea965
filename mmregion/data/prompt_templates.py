"""Prompt templates that turn a class name into CLIP text prompts.

A template is a string with exactly one ``{}`` where the class name goes
(``'a photo of a {}.'``). The named sets:

- ``'regionclip'``: RegionCLIP's 81 templates (``'{}.'``, ``'a photo of a
  {}.'``, then the other 79 of CLIP's ImageNet templates in CLIP's order), as
  in RegionCLIP's ``get_prompt_templates``.
- ``'openai_imagenet'``: CLIP's 80 ImageNet templates, taken from
  ``open_clip.zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES``.
- ``'simple'``: ``'a photo of a {}.'``.

:func:`get_templates` also accepts a list of templates or a text file with
one template per line.
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple, Union

from open_clip.zero_shot_metadata import \
    OPENAI_IMAGENET_TEMPLATES as _OPENAI_TEMPLATE_FNS

OPENAI_IMAGENET_TEMPLATES: Tuple[str, ...] = tuple(
    fn('{}') for fn in _OPENAI_TEMPLATE_FNS)
"""CLIP's 80 ImageNet templates as format strings (open_clip keeps them as
``lambda c: f'...'``)."""

SIMPLE_TEMPLATES: Tuple[str, ...] = ('a photo of a {}.', )
"""One template: ``'a photo of a {}.'``."""

REGIONCLIP_TEMPLATES: Tuple[str, ...] = ('{}.', SIMPLE_TEMPLATES[0]) + tuple(
    t for t in OPENAI_IMAGENET_TEMPLATES if t != SIMPLE_TEMPLATES[0])
"""RegionCLIP's 81 templates: ``'{}.'`` plus CLIP's 80, with ``'a photo of
a {}.'`` moved to the second place as RegionCLIP lists it."""

TEMPLATE_SETS: Dict[str, Tuple[str, ...]] = {
    'regionclip': REGIONCLIP_TEMPLATES,
    'openai_imagenet': OPENAI_IMAGENET_TEMPLATES,
    'simple': SIMPLE_TEMPLATES,
}
"""Template sets by name."""

Templates = Union[str, Sequence[str]]
"""A template-set name, a text file of templates, or a list of templates."""


def validate_template(template: str) -> str:
    """Check that a template holds exactly one ``{}``.

    Args:
        template (str): A prompt template such as ``'a photo of a {}.'``.

    Returns:
        str: The template, unchanged.

    Raises:
        ValueError: If ``{}`` occurs zero or several times.
    """
    if not isinstance(template, str) or template.count('{}') != 1:
        raise ValueError(f'prompt template {template!r} must contain exactly '
                         f'one "{{}}" where the class name goes')
    return template


def get_templates(templates: Templates = 'regionclip') -> List[str]:
    """Resolve and validate prompt templates.

    Args:
        templates (str | Sequence[str]): A name in :data:`TEMPLATE_SETS`
            (``'regionclip'``, ``'openai_imagenet'``, ``'simple'``), a text
            file with one template per line (blank lines skipped), or a list
            of templates. Defaults to ``'regionclip'``.

    Returns:
        list[str]: The templates, each with exactly one ``{}``.

    Raises:
        ValueError: For an unknown set name, an empty list, or a template
            without exactly one ``{}``.
    """
    if isinstance(templates, str):
        if templates in TEMPLATE_SETS:
            templates = TEMPLATE_SETS[templates]
        elif osp.isfile(templates):
            with open(templates, encoding='utf-8') as f:
                templates = [line.strip() for line in f if line.strip()]
        else:
            raise ValueError(
                f'unknown prompt templates {templates!r}: give one of '
                f'{sorted(TEMPLATE_SETS)}, an existing text file with one '
                f'template per line, or a list of templates')
    templates = [validate_template(t) for t in templates]
    if not templates:
        raise ValueError('no prompt templates given')
    return templates


def templates_name(templates: Templates) -> str:
    """A short description of where templates come from, for metadata.

    Args:
        templates (str | Sequence[str]): As for :func:`get_templates`.

    Returns:
        str: The set name, the file path, or ``'custom'`` for a list.
    """
    return templates if isinstance(templates, str) else 'custom'


def fill_templates(name: str, templates: Sequence[str]) -> List[str]:
    """Put a class name into each template.

    ``{}`` is replaced literally (no ``str.format``), so other braces in a
    template stay as they are.

    Args:
        name (str): The class name (or one synonym of it).
        templates (Sequence[str]): Validated templates.

    Returns:
        list[str]: One prompt per template.
    """
    return [t.replace('{}', name) for t in templates]
