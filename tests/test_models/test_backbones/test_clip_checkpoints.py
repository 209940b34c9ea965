"""CLIP weights by name: open_clip pretrained tags through open_clip's own
loader (its download function patched: tests never download)."""
import open_clip
import open_clip.pretrained as ocp
import pytest
import torch

from mmregion.models.backbones import CLIPResNet, clip_checkpoints
from mmregion.models.backbones.clip_checkpoints import (
    CLIPWeightsNotFoundError,
    cached_file,
    resolve_clip_checkpoint,
)
from mmregion.models.language.clip_text_encoder import (
    CLIPTextEncoder,
    clip_identity,
)


@pytest.fixture
def tiny_tag(monkeypatch, tmp_path):
    """open_clip lists a pretrained tag 'shapes' for RN-tiny; its download
    returns a local file of seeded weights."""
    torch.manual_seed(0)
    model = open_clip.create_model('RN-tiny')
    path = str(tmp_path / 'downloaded.pth')
    torch.save(model.state_dict(), path)
    cfg = dict(url='https://example.invalid/rn-tiny-shapes.pt',
               hf_hub='', quick_gelu=True)
    monkeypatch.setitem(ocp._PRETRAINED, 'RN-tiny', dict(shapes=cfg))
    calls = []

    def download(pretrained_cfg, cache_dir=None):
        calls.append((pretrained_cfg, cache_dir))
        return path

    monkeypatch.setattr(ocp, 'download_pretrained', download)
    monkeypatch.setattr(clip_checkpoints, 'can_download', lambda cfg: True)
    return model, path, calls


def test_tag_resolves_through_open_clip(tiny_tag):
    model, path, calls = tiny_tag
    assert resolve_clip_checkpoint('RN-tiny', 'shapes', 'here')[0] == path
    assert calls[0][0]['url'].endswith('rn-tiny-shapes.pt')
    backbone = CLIPResNet('RN-tiny', checkpoint='shapes')
    assert backbone.checkpoint == path  # resolved when built
    backbone.init_weights()
    assert torch.equal(backbone.conv1.weight, model.visual.conv1.weight)
    identity = clip_identity('RN-tiny', 'shapes')
    assert identity['checkpoint'] == path
    assert identity['quick_gelu'] is True  # the tag's setting
    encoder = CLIPTextEncoder('RN-tiny', checkpoint='shapes')
    assert torch.equal(encoder.clip.token_embedding.weight,
                       model.token_embedding.weight)


def test_cached_tag_needs_no_download(tiny_tag, monkeypatch, tmp_path):
    _, _, calls = tiny_tag
    cached = tmp_path / 'cache' / 'rn-tiny-shapes.pt'
    cached.parent.mkdir()
    cached.write_bytes(b'x')
    cfg = open_clip.get_pretrained_cfg('RN-tiny', 'shapes')
    assert cached_file(cfg, str(cached.parent)) == str(cached)
    path, _ = resolve_clip_checkpoint('RN-tiny', 'shapes', 'here',
                                      cache_dir=str(cached.parent))
    assert path == str(cached) and not calls


def test_offline_tag_fails_at_build_time_with_one_line(tiny_tag,
                                                       monkeypatch):
    _, _, calls = tiny_tag
    monkeypatch.setattr(clip_checkpoints, 'can_download', lambda cfg: False)
    with pytest.raises(CLIPWeightsNotFoundError) as error:
        CLIPResNet('RN-tiny', checkpoint='shapes')
    message = str(error.value)
    assert '\n' not in message and not calls
    assert message.startswith("CLIPResNet('RN-tiny'): the RN-tiny weights "
                              "'shapes' are not in open_clip's cache")
    assert ('download https://example.invalid/rn-tiny-shapes.pt and give '
            'the file as checkpoint (e.g. checkpoints/clip/RN-tiny.pt)'
            ) in message
    # a real tag offline: the official file and the hub repository named
    monkeypatch.setattr(clip_checkpoints, 'cached_file', lambda *a: '')
    with pytest.raises(CLIPWeightsNotFoundError,
                       match=r'RN50 weights .openai.* download https://'
                       r'openaipublic\S+/RN50.pt or hf-hub:timm/'
                       r'resnet50_clip.openai'):
        resolve_clip_checkpoint('RN50', 'openai', 'CLIPTextEncoder')


def test_failed_download_and_unknown_tag(tiny_tag, monkeypatch):
    def fail(cfg, cache_dir=None):
        raise FileNotFoundError('Failed to download file')

    monkeypatch.setattr(ocp, 'download_pretrained', fail)
    with pytest.raises(CLIPWeightsNotFoundError, match='could not be '
                       'downloaded'):
        CLIPTextEncoder('RN-tiny', checkpoint='shapes')
    with pytest.raises(ValueError, match=r"'laion' is not a file and not an "
                       r'open_clip pretrained tag of RN-tiny \(tags: shapes'):
        CLIPResNet('RN-tiny', checkpoint='laion')


def test_missing_local_file_names_the_download(tmp_path):
    backbone = CLIPResNet('RN50', checkpoint=str(tmp_path / 'RN50.pt'))
    with pytest.raises(FileNotFoundError,
                       match=r'RN50.pt does not exist; download https://'
                       r"\S+/RN50.pt .*or set checkpoint='openai'"):
        backbone.init_weights()
