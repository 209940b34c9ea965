"""CLIP weights by name: open_clip's pretrained tags or local files."""
import os
import os.path as osp
import socket
from typing import Dict, Optional, Tuple
from urllib.parse import urlparse

import open_clip
import open_clip.pretrained as open_clip_pretrained
import torch
from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME
from torch import Tensor

from ...fileio import load_checkpoint_file

WEIGHT_SUFFIXES = ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')


class CLIPWeightsNotFoundError(FileNotFoundError):
    """CLIP weights that are neither a local file nor cached by open_clip;
    the message names what to download and where to put it."""


def pretrained_tags(model_name: str) -> Tuple[str, ...]:
    """open_clip's pretrained tags of a model (``'openai'``, ...).

    Args:
        model_name (str): An open_clip model name (``'RN50'``).

    Returns:
        tuple[str]: The tags; empty for models without released weights.
    """
    return tuple(open_clip.list_pretrained_tags_by_model(model_name))


def download_hint(model_name: str, tag: str = 'openai') -> str:
    """Where the weights of ``model_name`` / ``tag`` come from, one phrase.

    Args:
        model_name (str): An open_clip model name.
        tag (str): A pretrained tag. Defaults to ``'openai'``.

    Returns:
        str: ``'<url>'`` and/or ``'hf-hub:<repo>'``, or a pointer to
        ``open_clip.list_pretrained()`` when open_clip lists none.
    """
    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    where = [cfg[k] for k in ('url', ) if cfg.get(k)]
    if cfg.get('hf_hub'):
        where.append('hf-hub:' + cfg['hf_hub'].rstrip('/'))
    if not where:
        return (f'no released weights of {model_name} (see '
                f'open_clip.list_pretrained())')
    return ' or '.join(where)


def is_tag(checkpoint: str) -> bool:
    """Whether ``checkpoint`` reads as a tag rather than a file path.

    Args:
        checkpoint (str): A ``checkpoint`` argument.

    Returns:
        bool: False for existing files and for names with a folder or a
        weight-file suffix.
    """
    return not (osp.isfile(checkpoint) or '/' in checkpoint
                or osp.sep in checkpoint
                or checkpoint.endswith(WEIGHT_SUFFIXES))


def cached_file(cfg: dict, cache_dir: Optional[str] = None) -> str:
    """The file of an open_clip pretrained config already in its cache.

    Looks where ``open_clip.pretrained.download_pretrained`` puts it (the
    Hugging Face cache for ``hf_hub`` entries, ``~/.cache/clip`` or
    ``cache_dir`` for ``url`` entries), without touching the network.

    Args:
        cfg (dict): ``open_clip.get_pretrained_cfg(model, tag)``.
        cache_dir (str, optional): open_clip's ``cache_dir``.

    Returns:
        str: The cached file, or '' when there is none.
    """
    if cfg.get('hf_hub'):
        from huggingface_hub import try_to_load_from_cache
        # 'org/repo/' (default file names) or 'org/repo/file', as open_clip
        repo_id, filename = osp.split(cfg['hf_hub'])
        names = [filename] if filename else [
            HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME]
        for name in names:
            found = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
            if isinstance(found, str) and osp.isfile(found):
                return found
    if cfg.get('url'):
        folder = cache_dir or osp.expanduser('~/.cache/clip')
        path = osp.join(folder, osp.basename(cfg['url']))
        if osp.isfile(path):
            return path
    return ''


def can_download(cfg: dict) -> bool:
    """Whether the hosts of a pretrained config resolve (a quick offline
    test, so that an offline build fails at once instead of after
    huggingface_hub's retries).

    Args:
        cfg (dict): An open_clip pretrained config.

    Returns:
        bool: False offline or with ``HF_HUB_OFFLINE`` set.
    """
    if os.environ.get('HF_HUB_OFFLINE', '').lower() in ('1', 'true', 'yes'):
        return False
    hosts = (['huggingface.co'] if cfg.get('hf_hub') else []) + (
        [urlparse(cfg['url']).hostname] if cfg.get('url') else [])
    for host in hosts:
        try:
            socket.getaddrinfo(host, 443)
            return True
        except OSError:
            continue
    return False


def resolve_clip_checkpoint(
        model_name: str,
        checkpoint: Optional[str],
        where: str,
        cache_dir: Optional[str] = None) -> Tuple[Optional[str], dict]:
    """A local weight file for a ``checkpoint`` argument.

    A file path is returned as it is (whether it exists is checked where it
    is read). A name that is not a path must be one of open_clip's
    pretrained tags for ``model_name`` (``open_clip.
    list_pretrained_tags_by_model``): its file in open_clip's cache
    (:func:`cached_file`), else what open_clip's own downloader
    (``open_clip.pretrained.download_pretrained``: its hub, its URLs)
    fetches into that cache.

    Args:
        model_name (str): An open_clip model name (``'RN50'``).
        checkpoint (str, optional): A path, a tag (``'openai'``) or None.
        where (str): The caller, named in errors.
        cache_dir (str, optional): open_clip's cache folder (default:
            the Hugging Face cache, or ``~/.cache/clip`` for URLs).

    Returns:
        tuple[str | None, dict]: The local file (None for None) and the
        tag's open_clip pretrained config (``{}`` for a path), whose
        ``quick_gelu`` tells how the weights were trained.

    Raises:
        ValueError: For a name that is neither a path nor a tag of the
            model.
        CLIPWeightsNotFoundError: When a tag's file is not cached and
            cannot be downloaded (offline), naming what to download.
    """
    if checkpoint is None or not is_tag(checkpoint):
        return checkpoint, {}
    tags = pretrained_tags(model_name)
    cfg = open_clip.get_pretrained_cfg(model_name, checkpoint)
    if not cfg:
        raise ValueError(
            f'{where}: checkpoint {checkpoint!r} is not a file and not an '
            f'open_clip pretrained tag of {model_name} (tags: '
            f'{", ".join(tags) or "none"})')
    path = cached_file(cfg, cache_dir)
    if not path and can_download(cfg):
        try:
            path = open_clip_pretrained.download_pretrained(
                cfg, cache_dir=cache_dir)
        except Exception:  # urllib, huggingface_hub or open_clip errors
            path = ''
    if not path or not osp.isfile(path):
        raise CLIPWeightsNotFoundError(
            f"{where}: the {model_name} weights {checkpoint!r} are not in "
            f"open_clip's cache and could not be downloaded; download "
            f'{download_hint(model_name, checkpoint)} and give the file as '
            f'checkpoint (e.g. checkpoints/clip/{model_name}.pt), or run '
            f'once with network to fill the cache'
            f'{" " + cache_dir if cache_dir else ""}')
    return path, cfg


def missing_file_message(where: str, model_name: str, path: str) -> str:
    """One line for a local CLIP file that does not exist.

    Args:
        where (str): The caller.
        model_name (str): An open_clip model name.
        path (str): The missing file.

    Returns:
        str: What to download and where to put it, or which tag to use.
    """
    tags = pretrained_tags(model_name)
    if not tags:
        return (f'{where}: CLIP weight file {path} does not exist (no '
                f'released weights of {model_name}: train them, e.g. '
                f'mmregion.apis.train_tiny_clip for RN-tiny)')
    tag = 'openai' if 'openai' in tags else tags[0]
    return (f'{where}: CLIP weight file {path} does not exist; download '
            f'{download_hint(model_name, tag)} to {path}, or set '
            f'checkpoint={tag!r} to let open_clip fetch and cache it')


def load_clip_state_dict(path: str) -> Dict[str, Tensor]:
    """Read a whole CLIP's state dict from a local file, safely.

    What ``open_clip.factory.load_state_dict`` accepts, read through
    :func:`mmregion.fileio.load_checkpoint_file`: a TorchScript archive
    (OpenAI's ``RN50.pt``, opened with ``torch.jit.load``; its
    ``input_resolution``, ``context_length`` and ``vocab_size`` entries are
    dropped as open_clip does, and so are the ``attn_mask`` buffers of a
    scripted open_clip model), a state dict, a training checkpoint with a
    ``state_dict`` entry (``module.`` prefixes stripped), or a
    ``.safetensors`` file (what open_clip's hub downloads).

    Args:
        path (str): The local file.

    Returns:
        dict[str, Tensor]: The tensors by name.
    """
    if path.endswith('.safetensors'):  # open_clip's hub files
        from safetensors.torch import load_file
        return load_file(path)
    obj = load_checkpoint_file(path, map_location='cpu')
    if isinstance(obj, torch.jit.ScriptModule):
        state = dict(obj.state_dict())
        for key in ('input_resolution', 'context_length', 'vocab_size'):
            state.pop(key, None)
        # A scripted open_clip model keeps its non-persistent causal mask
        # buffer(s) in the state dict (TorchScript has no persistence flag);
        # the mask is rebuilt by the model, not a weight.
        for key in [k for k in state if k.split('.')[-1] == 'attn_mask']:
            del state[key]
        return state
    if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        obj = obj['state_dict']
    if not isinstance(obj, dict):
        raise TypeError(f'{path} holds a {type(obj).__name__}')
    if next(iter(obj), '').startswith('module.'):
        obj = {k[len('module.'):]: v for k, v in obj.items()}
    return obj
