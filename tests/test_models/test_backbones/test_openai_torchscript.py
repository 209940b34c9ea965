"""An OpenAI-style TorchScript CLIP archive (RN50.pt layout: a scripted
whole CLIP in fp16, with input_resolution / context_length / vocab_size in
its state dict) loads into CLIPResNet and CLIPTextEncoder, which reproduce
the scripted model's own image and text embeddings."""
import open_clip
import pytest
import torch
import torch.nn.functional as F

from mmregion.fileio import load_checkpoint_file
from mmregion.models.backbones import CLIPResNet
from mmregion.models.language.clip_text_encoder import CLIPTextEncoder

TEXTS = ['a photo of a cat.', 'a dog', 'television set']


@pytest.fixture(scope='module')
def archive(tmp_path_factory):
    """A scripted RN-tiny CLIP saved as OpenAI saves RN50.pt."""
    torch.manual_seed(0)
    clip = open_clip.create_model('RN-tiny', force_quick_gelu=True)
    with torch.no_grad():
        for module in clip.visual.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    for name, value in (('input_resolution', 64), ('context_length', 77),
                        ('vocab_size', 49408)):
        # OpenAI's archive stores these as tensors, not Python ints
        if hasattr(clip, name):
            delattr(clip, name)
        clip.register_buffer(name, torch.tensor(value))
    path = str(tmp_path_factory.mktemp('openai') / 'RN-tiny.pt')
    torch.jit.save(torch.jit.script(clip.eval().half()), path)
    return path


def test_archive_has_the_openai_layout(archive):
    scripted = load_checkpoint_file(archive, map_location='cpu')
    assert isinstance(scripted, torch.jit.ScriptModule)
    state = scripted.state_dict()
    assert {'input_resolution', 'context_length', 'vocab_size'} <= set(state)
    assert state['visual.conv1.weight'].dtype == torch.float16


def test_backbone_reproduces_the_scripted_image_embedding(archive):
    scripted = torch.jit.load(archive, map_location='cpu').float().eval()
    backbone = CLIPResNet('RN-tiny', checkpoint=archive)
    backbone.init_weights()
    backbone.eval()
    images = torch.rand(2,
                        3,
                        64,
                        64,
                        generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = scripted.encode_image(images)
        ours = backbone.pool_regions(backbone(images)[0])
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)


def test_text_encoder_reproduces_the_scripted_text_embedding(archive):
    scripted = torch.jit.load(archive, map_location='cpu').float().eval()
    encoder = CLIPTextEncoder('RN-tiny', checkpoint=archive)
    assert encoder.identity['torchscript'] is True
    assert encoder.identity['quick_gelu'] is True
    tokens = open_clip.get_tokenizer('RN-tiny')(TEXTS)
    with torch.no_grad():
        expected = F.normalize(scripted.encode_text(tokens), dim=-1)
    torch.testing.assert_close(encoder.encode(TEXTS),
                               expected,
                               rtol=1e-5,
                               atol=1e-5)
