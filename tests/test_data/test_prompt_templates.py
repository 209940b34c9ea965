"""Prompt templates: RegionCLIP's 81, CLIP's 80, custom lists and files."""
import pytest
from open_clip.zero_shot_metadata import (
    OPENAI_IMAGENET_TEMPLATES as OPEN_CLIP_TEMPLATE_FNS,
)

from mmregion.data.prompt_templates import (
    OPENAI_IMAGENET_TEMPLATES,
    REGIONCLIP_TEMPLATES,
    TEMPLATE_SETS,
    fill_templates,
    get_templates,
    templates_name,
    validate_template,
)


def test_template_sets():
    assert len(OPENAI_IMAGENET_TEMPLATES) == 80
    assert len(set(OPENAI_IMAGENET_TEMPLATES)) == 80
    assert len(REGIONCLIP_TEMPLATES) == 81
    assert REGIONCLIP_TEMPLATES[:2] == ('{}.', 'a photo of a {}.')
    assert set(REGIONCLIP_TEMPLATES) == {'{}.'
                                         } | set(OPENAI_IMAGENET_TEMPLATES)
    assert get_templates('simple') == ['a photo of a {}.']
    assert len(get_templates('openai_imagenet')) == 80
    assert get_templates() == list(REGIONCLIP_TEMPLATES)
    assert sorted(TEMPLATE_SETS) == ['openai_imagenet', 'regionclip', 'simple']
    assert all(t.count('{}') == 1 for t in REGIONCLIP_TEMPLATES)


def test_openai_templates_match_open_clip_callables():
    assert fill_templates('dog', OPENAI_IMAGENET_TEMPLATES) == [
        fn('dog') for fn in OPEN_CLIP_TEMPLATE_FNS
    ]
    assert fill_templates('tv',
                          ['{}.', 'a {} in {x}']) == ['tv.', 'a tv in {x}']


def test_custom_list_and_file(tmp_path):
    assert get_templates(['a {}.', 'the {}']) == ['a {}.', 'the {}']
    path = tmp_path / 'templates.txt'
    path.write_text('a photo of a {}.\n\n  itap of my {}.  \n')
    assert get_templates(str(path)) == ['a photo of a {}.', 'itap of my {}.']
    assert templates_name(str(path)) == str(path)
    assert templates_name('simple') == 'simple'
    assert templates_name(['a {}']) == 'custom'


@pytest.mark.parametrize('bad', ['a photo of a cat.', 'a {} and a {}.'])
def test_template_needs_exactly_one_slot(bad, tmp_path):
    with pytest.raises(ValueError, match=f"'{bad}' must contain exactly one"):
        validate_template(bad)
    with pytest.raises(ValueError, match='exactly one'):
        get_templates(['a {}.', bad])
    path = tmp_path / 'templates.txt'
    path.write_text(f'a {{}}.\n{bad}\n')
    with pytest.raises(ValueError, match='exactly one'):
        get_templates(str(path))


def test_unknown_set_and_empty(tmp_path):
    with pytest.raises(ValueError, match="unknown prompt templates 'clip'"):
        get_templates('clip')
    with pytest.raises(ValueError, match='no prompt templates'):
        get_templates([])
    path = tmp_path / 'empty.txt'
    path.write_text('\n\n')
    with pytest.raises(ValueError, match='no prompt templates'):
        get_templates(str(path))
