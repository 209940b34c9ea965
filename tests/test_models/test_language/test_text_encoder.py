"""CLIPTextEncoder: open_clip parity, frozen weights, checkpoint formats."""
import shutil

import open_clip
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import nn

from mmregion.models.language.clip_text_encoder import (
    CLIPTextEncoder,
    checkpoint_fingerprint,
    clip_identity,
    is_torchscript_archive,
)

TEXTS = ['a photo of a cat.', 'dog', 'a tv', 'television set', 'x', '{}.']


def _reference(model, texts):
    tokens = open_clip.get_tokenizer('RN-tiny')(texts)
    with torch.no_grad():
        return F.normalize(model.eval().encode_text(tokens), dim=-1)


def _openai_style_archive(model: nn.Module, path: str) -> str:
    """A TorchScript archive whose state dict has OpenAI's RN50.pt layout:
    the CLIP keys plus input_resolution, context_length, vocab_size."""
    root = nn.Module()
    extra = dict(
        input_resolution=torch.tensor(64),
        context_length=torch.tensor(77),
        vocab_size=torch.tensor(49408))
    for key, value in list(model.state_dict().items()) + list(extra.items()):
        *parents, leaf = key.split('.')
        module = root
        for name in parents:
            if not hasattr(module, name):
                module.add_module(name, nn.Module())
            module = getattr(module, name)
        module.register_buffer(leaf, value.clone())
    torch.jit.script(root).save(path)
    return path


@pytest.fixture(scope='module')
def tiny_clip(tmp_path_factory):
    """A seeded RN-tiny open_clip model and its state dict file."""
    torch.manual_seed(0)
    model = open_clip.create_model('RN-tiny')
    path = str(tmp_path_factory.mktemp('clip') / 'rn_tiny.pth')
    torch.save(model.state_dict(), path)
    return model, path


def test_parity_with_open_clip(tiny_clip):
    model, path = tiny_clip
    encoder = CLIPTextEncoder('RN-tiny', checkpoint=path, batch_size=4)
    out = encoder.encode(TEXTS)
    assert out.shape == (6, 64) and encoder.embed_dim == 64
    assert (out - _reference(model, TEXTS)).abs().max() <= 1e-6
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(6))
    assert encoder.identity['quick_gelu'] is False
    assert encoder.identity['torchscript'] is False


def test_frozen_and_kept_in_eval(tiny_clip):
    encoder = MODELS.build(
        dict(
            type='CLIPTextEncoder',
            model_name='RN-tiny',
            checkpoint=tiny_clip[1]))
    assert isinstance(encoder, CLIPTextEncoder)
    assert not hasattr(encoder.clip, 'visual')
    assert not any(p.requires_grad for p in encoder.parameters())
    encoder.train()
    assert encoder.training and not encoder.clip.training
    assert not any(m.training for m in encoder.clip.modules())
    assert encoder(['cat']).shape == (1, 64)
    assert encoder.encode([]).shape == (0, 64)


def test_openai_torchscript_archive(tmp_path):
    torch.manual_seed(1)
    model = open_clip.create_model('RN-tiny', force_quick_gelu=True)
    path = _openai_style_archive(model, str(tmp_path / 'RN-tiny.pt'))
    assert is_torchscript_archive(path)
    encoder = CLIPTextEncoder('RN-tiny', checkpoint=path)
    assert encoder.identity['torchscript'] is True
    assert encoder.identity['quick_gelu'] is True
    assert (encoder.encode(TEXTS) - _reference(model, TEXTS)).abs().max() \
        <= 1e-6


def test_checkpoint_fingerprint(tiny_clip, tmp_path):
    path = tiny_clip[1]
    assert not is_torchscript_archive(path)
    copy = str(tmp_path / 'copy.pth')
    shutil.copy(path, copy)
    assert checkpoint_fingerprint(copy) == checkpoint_fingerprint(path)
    assert checkpoint_fingerprint(path).startswith('sha256-head-tail:')
    data = bytearray(open(copy, 'rb').read())
    data[-100] ^= 0xFF
    open(copy, 'wb').write(bytes(data))
    assert checkpoint_fingerprint(copy) != checkpoint_fingerprint(path)
    identity = clip_identity('RN-tiny', path)
    assert identity['checkpoint'] == path
    assert clip_identity('RN-tiny')['checkpoint_id'] == ''


def test_errors(tiny_clip, tmp_path):
    with pytest.raises(ValueError, match="'RN-nope' is not an open_clip"):
        CLIPTextEncoder('RN-nope')
    missing = str(tmp_path / 'RN50.pt')
    with pytest.raises(FileNotFoundError,
                       match='RN50.pt does not exist .no released weights'):
        CLIPTextEncoder('RN-tiny', checkpoint=missing)
    with pytest.raises(FileNotFoundError, match='RN50.pt does not exist; '
                       'download https://openaipublic.*/RN50.pt'):
        CLIPTextEncoder('RN50', checkpoint=missing)
    with pytest.raises(ValueError, match="'openai' is not a file and not an "
                       'open_clip pretrained tag of RN-tiny .tags: none'):
        CLIPTextEncoder('RN-tiny', checkpoint='openai')
    with pytest.raises(ValueError, match='batch_size must be >= 1, got 0'):
        CLIPTextEncoder('RN-tiny', batch_size=0)
    encoder = CLIPTextEncoder('RN-tiny', checkpoint=tiny_clip[1])
    with pytest.raises(TypeError, match="list of texts, got the string 'cat'"):
        encoder.encode('cat')
