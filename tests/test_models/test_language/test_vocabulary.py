"""Vocabulary: prompt ensemble, synonyms, cache, files, names, errors, CLI."""
import os
import subprocess

import open_clip
import pytest
import torch
import torch.nn.functional as F
from conftest import PYTHON, REPO
from mmdet.datasets import CocoDataset
from mmengine.config import Config

from mmregion.apis.class_names import (
    dataset_class_names,
    extract_text_embeddings,
    resolve_names,
)
from mmregion.models.language import vocabulary
from mmregion.models.language.clip_text_encoder import CLIPTextEncoder
from mmregion.models.language.vocabulary import (
    Vocabulary,
    parse_class_names,
    prompt_name,
)

TEMPLATES = ['a photo of a {}.', 'a {} in the scene.']


@pytest.fixture(scope='module')
def tiny_clip(tmp_path_factory):
    """A seeded RN-tiny open_clip model and its state dict file."""
    torch.manual_seed(0)
    model = open_clip.create_model('RN-tiny').eval()
    path = str(tmp_path_factory.mktemp('clip') / 'rn_tiny.pth')
    torch.save(model.state_dict(), path)
    return model, path


@pytest.fixture(scope='module')
def encoder(tiny_clip):
    return CLIPTextEncoder('RN-tiny', checkpoint=tiny_clip[1])


def _hand_embedding(model, prompts):
    """normalise each prompt's feature, average, normalise again."""
    tokens = open_clip.get_tokenizer('RN-tiny')(prompts)
    with torch.no_grad():
        features = F.normalize(model.encode_text(tokens), dim=-1)
    return F.normalize(features.mean(0), dim=-1)


def test_prompt_ensemble_matches_hand_computation(tiny_clip, encoder):
    vocab = Vocabulary.build(['cat', 'dog'], encoder, TEMPLATES)
    model = tiny_clip[0]
    cat = _hand_embedding(model, ['a photo of a cat.', 'a cat in the scene.'])
    dog = _hand_embedding(model, ['a photo of a dog.', 'a dog in the scene.'])
    expected = torch.stack([cat, dog])
    assert vocab.embeddings.shape == (2, 64)
    assert (vocab.embeddings - expected).abs().max() <= 1e-6
    assert vocab.class_names == ['cat', 'dog']
    assert vocab.meta['template_set'] == 'custom'
    assert vocab.meta['templates'] == TEMPLATES
    assert vocab.cache_hit is None


def test_synonyms_are_averaged(tiny_clip, encoder):
    vocab = Vocabulary.build('cat . tv|television', encoder, TEMPLATES)
    expected = _hand_embedding(tiny_clip[0], [
        'a photo of a tv.', 'a tv in the scene.', 'a photo of a television.',
        'a television in the scene.'
    ])
    assert (vocab.embeddings[1] - expected).abs().max() <= 1e-6
    assert vocab.class_names == ['cat', 'tv']
    assert vocab.synonyms == [['cat'], ['tv', 'television']]


def test_large_vocabularies_are_encoded_in_groups(encoder, monkeypatch):
    names = [f'thing {i}' for i in range(7)]
    whole = Vocabulary.build(names, encoder, TEMPLATES)
    calls = []
    encode = encoder.encode
    monkeypatch.setattr(
        encoder, 'encode',
        lambda texts: calls.append(len(texts)) or encode(texts))
    monkeypatch.setattr(vocabulary, '_PROMPTS_PER_CALL', 6)
    grouped = Vocabulary.build(names, encoder, TEMPLATES)
    assert calls == [6, 6, 2]
    assert (grouped.embeddings - whole.embeddings).abs().max() <= 1e-6


def test_lvis_style_names_are_cleaned(tiny_clip, encoder):
    assert prompt_name('bow_(weapon)') == 'bow weapon'
    assert prompt_name('salt+pepper, shaker') == 'salt pepper shaker'
    vocab = Vocabulary.build(['bow_(weapon)'], encoder, ['{}.'])
    expected = _hand_embedding(tiny_clip[0], ['bow weapon.'])
    assert (vocab.embeddings[0] - expected).abs().max() <= 1e-6
    assert vocab.class_names == ['bow_(weapon)']


def test_cache_hit_does_not_call_encoder(encoder, tiny_clip, tmp_path,
                                         monkeypatch):
    calls = []
    encode = encoder.encode
    monkeypatch.setattr(
        encoder, 'encode',
        lambda texts: calls.append(len(texts)) or encode(texts))
    cache = str(tmp_path / 'cache')
    first = Vocabulary.build('cat . dog', encoder, 'regionclip', cache)
    assert first.cache_hit is False and calls == [2 * 81]
    assert len(os.listdir(cache)) == 1
    second = Vocabulary.build('cat . dog', encoder, 'regionclip', cache)
    assert second.cache_hit is True and calls == [2 * 81]
    assert torch.equal(first.embeddings, second.embeddings)
    assert second.meta['key'] == first.meta['key']
    assert second.meta['created'] == first.meta['created']

    # other names or templates: a miss
    Vocabulary.build('cat . dog|puppy', encoder, 'regionclip', cache)
    Vocabulary.build('cat . dog', encoder, 'simple', cache)
    assert calls == [2 * 81, 3 * 81, 2]
    assert len(os.listdir(cache)) == 3

    # a config-dict encoder is not even built on a hit
    def no_build(*args, **kwargs):
        raise AssertionError('encoder built on a cache hit')

    monkeypatch.setattr(CLIPTextEncoder, '__init__', no_build)
    cfg = dict(
        type='CLIPTextEncoder', model_name='RN-tiny', checkpoint=tiny_clip[1])
    assert Vocabulary.build('cat . dog', cfg, 'regionclip', cache).cache_hit


def test_random_weights_are_not_cached(tmp_path):
    random_encoder = CLIPTextEncoder('RN-tiny')
    cache = str(tmp_path / 'cache')
    with pytest.warns(UserWarning, match='random weights .* not caching'):
        vocab = Vocabulary.build('cat', random_encoder, 'simple', cache)
    assert vocab.cache_hit is None and not os.path.exists(cache)


def test_save_load_round_trip(encoder, tiny_clip, tmp_path):
    vocab = Vocabulary.build('cat . tv|television', encoder, 'simple')
    path = str(tmp_path / 'out' / 'emb.pth')
    vocab.save(path)
    raw = torch.load(path, weights_only=True)
    assert raw['embeddings'].shape == (2, 64)
    loaded = Vocabulary.load(path)
    assert torch.equal(loaded.embeddings, vocab.embeddings)
    assert loaded.synonyms == [['cat'], ['tv', 'television']]
    meta = loaded.meta
    assert meta['model'] == 'RN-tiny' and meta['checkpoint'] == tiny_clip[1]
    assert meta['checkpoint_id'].startswith('sha256-head-tail:')
    assert meta['templates'] == ['a photo of a {}.']
    assert meta['template_set'] == 'simple'
    assert (meta['dim'], meta['num_classes']) == (64, 2)
    assert meta['class_names'] == ['cat', 'tv'] and meta['created']


def test_official_regionclip_tensor_files(tmp_path):
    path = str(tmp_path / 'coco_4_cls_emb_rn50.pth')
    torch.save(torch.randn(4, 1024), path)
    vocab = Vocabulary.load(path)
    assert vocab.class_names == ['class_0', 'class_1', 'class_2', 'class_3']
    assert vocab.dim == 1024 and vocab.meta['format'] == 'regionclip_cls_emb'
    torch.testing.assert_close(vocab.embeddings.norm(dim=-1), torch.ones(4))
    named = Vocabulary.load(path, names='a . b . c . d|dee')
    assert named.class_names == ['a', 'b', 'c', 'd']
    with pytest.raises(ValueError) as err:
        Vocabulary.load(path, names=['a', 'b', 'c'])
    assert f'{path}: 3 class names but 4 embedding rows (3 vs 4)' in str(
        err.value)
    concept_path = str(tmp_path / 'concept_embeds.pth')
    torch.save(torch.randn(3, 1, 640).half(), concept_path)
    assert Vocabulary.load(concept_path).embeddings.shape == (3, 640)
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(weights=torch.zeros(2)), bad)
    with pytest.raises(ValueError, match='bad.pth: holds no embedding tensor'):
        Vocabulary.load(bad)


def test_check_dim():
    vocab = Vocabulary(torch.randn(2, 512), 'a . b')
    assert vocab.check_dim(512) is vocab
    with pytest.raises(ValueError) as err:
        vocab.check_dim(640, where='RegionCLIPBBoxHead')
    message = str(err.value)
    assert message.startswith('RegionCLIPBBoxHead: ')
    assert '512 vs 640' in message
    assert 'text encoder of a different CLIP model' in message
    assert '(dim 640: RN50x4)' in message


def test_empty_vocabulary_errors(tmp_path):
    for source in ['', ' . , ', [], ['cat', ' | ']]:
        with pytest.raises(ValueError, match='empty vocabulary|has no name'):
            parse_class_names(source)
    empty = tmp_path / 'classes.txt'
    empty.write_text('\n \n')
    with pytest.raises(ValueError, match='empty vocabulary: no class names'):
        parse_class_names(str(empty))
    with pytest.raises(ValueError, match='empty vocabulary or not a'):
        Vocabulary(torch.zeros(0, 8))
    with pytest.raises(
            ValueError, match='class names occur more than once: '
            r"\['cat'\]"):
        parse_class_names('cat . dog . cat|kitty')
    # names are checked before any encoder is looked at
    with pytest.raises(ValueError, match='empty vocabulary'):
        Vocabulary.build('', dict(type='CLIPTextEncoder', model_name='nope'))
    with pytest.raises(ValueError, match="'a photo' must contain exactly"):
        Vocabulary.build('cat',
                         dict(type='CLIPTextEncoder',
                              model_name='nope'), ['a photo'])


def test_parse_class_names_sources(tmp_path):
    expected = [['cat'], ['dog'], ['tv', 'television']]
    assert parse_class_names('cat . dog . tv|television') == expected
    assert parse_class_names('cat, dog,tv | television.') == expected
    assert parse_class_names(['cat', 'dog', 'tv|television']) == expected
    assert parse_class_names([['cat'], ['dog'], ['tv',
                                                 'television']]) == expected
    names_file = tmp_path / 'classes.txt'
    names_file.write_text('cat\n\ndog\ntv|television\n')
    assert parse_class_names(str(names_file)) == expected
    assert parse_class_names('traffic light . fire hydrant') == [[
        'traffic light'
    ], ['fire hydrant']]


def test_dataset_class_names(tmp_path):
    coco = list(CocoDataset.METAINFO['classes'])
    assert dataset_class_names(CocoDataset) == coco
    assert dataset_class_names(dict(type='CocoDataset')) == coco
    wrapped = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(type='CocoDataset', metainfo=dict(classes=('a', 'b'))))
    assert dataset_class_names(wrapped) == ['a', 'b']
    config = tmp_path / 'cfg.py'
    config.write_text(
        "train_dataloader = dict(dataset=dict(type='CocoDataset'))\n"
        "test_dataloader = dict(dataset=dict(type='CocoDataset', "
        "metainfo=dict(classes=('cat', 'tv|television'))))\n")
    assert dataset_class_names(str(config)) == ['cat', 'tv|television']
    assert parse_class_names(resolve_names(str(config))) == [['cat'],
                                                             ['tv',
                                                              'television']]
    assert parse_class_names(resolve_names(
        Config.fromfile(str(config))))[0] == ['cat']
    # The model layer reads no configs: it says where that is done.
    for source in (str(config), Config.fromfile(str(config)), CocoDataset):
        with pytest.raises(ValueError, match='apis.class_names.resolve'):
            parse_class_names(source)
    assert resolve_names('cat . dog') == 'cat . dog'
    with pytest.warns(DeprecationWarning, match='apis.class_names'):
        from mmregion.models.language import dataset_class_names as old
    assert old is dataset_class_names
    with pytest.raises(ValueError, match='no class names found'):
        dataset_class_names(dict(type='BaseDetDataset'))


def test_extract_text_embeddings(tiny_clip, tmp_path):
    out = str(tmp_path / 'emb.pth')
    vocab = extract_text_embeddings(
        'cat . dog', 'RN-tiny', tiny_clip[1], templates='simple', out=out)
    assert torch.equal(Vocabulary.load(out).embeddings, vocab.embeddings)
    assert vocab.meta['quick_gelu'] is False


def _run(args):
    return subprocess.run(
        [PYTHON, 'tools/misc/extract_text_embeddings.py'] + args,
        cwd=REPO,
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_cli(tiny_clip, tmp_path):
    proc = _run(['--help'])
    assert proc.returncode == 0, proc.stderr
    assert '--dataset-config' in proc.stdout and '--cache-dir' in proc.stdout
    names = tmp_path / 'classes.txt'
    names.write_text('cat\ndog\ntv|television\n')
    out = str(tmp_path / 'emb.pth')
    args = [
        '--model', 'RN-tiny', '--checkpoint', tiny_clip[1], '--names-file',
        str(names), '--out', out, '--cache-dir',
        str(tmp_path / 'cache')
    ]
    proc = _run(args)
    assert proc.returncode == 0, proc.stderr
    assert ('3 classes, dim 64, 81 templates (regionclip), model RN-tiny, '
            'cache miss') in proc.stdout
    vocab = Vocabulary.load(out)
    assert vocab.class_names == ['cat', 'dog', 'tv']
    proc = _run(args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith('cache hit')
    assert torch.equal(Vocabulary.load(out).embeddings, vocab.embeddings)
