"""The web demo's logic without a browser: words, filtering, drawing,
json, in-page messages, the image-prompt extension point and the CLI."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.structures import InstanceData
from tiny_yolact import tiny_yolact_cfg

from mmregion.apis.tiny_demo_model import make_tiny_regionclip
from mmregion.apis.web_demo import (
    MODEL_CLASSES,
    MY_PROMPTS,
    MY_WORDS,
    DemoInputError,
    WebDemo,
    detections_to_json,
    filter_instances,
    parse_words,
    read_image,
    zero_score_thresholds,
)
from mmregion.models.language import Vocabulary
from mmregion.synthetic import SHAPE_CLASSES

YOLACT = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes.py')
YOLACT_OVD = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes-ovd.py')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """The tiny RegionCLIP's files and a demo serving it."""
    files = make_tiny_regionclip(str(tmp_path_factory.mktemp('tiny')))
    demo = WebDemo(files['config'], files['weights'], templates='simple',
                   out_dir=str(tmp_path_factory.mktemp('json')))
    return files, demo


@pytest.fixture
def image(shapes_root):
    return osp.join(shapes_root, 'val', '000000.png')


def _tiny_yolact(path: str, **changes) -> Config:
    """A synthetic YOLACT config with the tiny model of tiny_yolact."""
    cfg = Config.fromfile(path)
    head_type = cfg.model.bbox_head.type
    ovd = {k: cfg.model.bbox_head[k] for k in cfg.model.bbox_head
           if k in ('embed_dim', 'temperature', 'num_classes')}
    cfg.model = tiny_yolact_cfg()
    cfg.model.bbox_head.update(type=head_type, **ovd)
    cfg.merge_from_dict(changes)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (96, 96)
    return cfg


def test_parse_words_splits_classes_and_keeps_synonyms():
    assert parse_words(' cat . dog, tv|television;\nkite ') == [
        'cat', 'dog', 'tv|television', 'kite'
    ]
    assert parse_words(' . , ') == [] and parse_words(None) == []


def test_read_image_explains_bad_uploads(tmp_path, image):
    assert read_image(image).shape == (96, 96, 3)
    with pytest.raises(DemoInputError, match='Upload an image'):
        read_image(None)
    bad = tmp_path / 'holiday.png'
    bad.write_bytes(b'not an image at all')
    with pytest.raises(DemoInputError,
                       match='Cannot read holiday.png as an image'):
        read_image(str(bad))


def test_preview_shows_the_upload_or_says_why_not(tmp_path, image):
    shown, message = WebDemo.preview(image)
    assert message == '' and np.array_equal(shown,
                                            cv2.imread(image)[:, :, ::-1])
    assert WebDemo.preview(None) == (None, '')
    bad = tmp_path / 'notes.webp'
    bad.write_text('hello')
    assert WebDemo.preview(str(bad)) == (
        None, '**Cannot read notes.webp as an image: expected a PNG, JPEG, '
        'BMP, TIFF or WebP file.**')


def test_zero_score_thresholds_reaches_nested_test_cfgs():
    cfg = dict(rpn=dict(nms_pre=1000), rcnn=dict(score_thr=0.05,
                                                 nms=dict(iou=0.5)),
               stages=[dict(score_thr=0.3)])
    zero_score_thresholds(cfg)
    assert cfg == dict(rpn=dict(nms_pre=1000), rcnn=dict(score_thr=0.,
                                                         nms=dict(iou=0.5)),
                       stages=[dict(score_thr=0.)])


def test_filter_instances_keeps_the_best_above_the_threshold():
    instances = InstanceData(scores=torch.tensor([0.1, 0.9, 0.5, 0.3]),
                             labels=torch.tensor([0, 1, 2, 3]))
    kept = filter_instances(instances, 0.3, 2)
    assert kept.scores.tolist() == pytest.approx([0.9, 0.5])
    assert kept.labels.tolist() == [1, 2]
    assert len(filter_instances(instances, 0.95, 10)) == 0
    assert filter_instances(instances, 0., 10).labels.tolist() == [1, 2, 3,
                                                                   0]


def test_detections_to_json_names_the_labels():
    rle = dict(size=[4, 5], counts='abc')
    result = detections_to_json(
        dict(labels=[1, 0], scores=[0.87654321, 0.5],
             bboxes=[[1.04, 2, 3, 4], [0, 0, 5, 4]], masks=[rle, rle]),
        ['kite', 'balloon'], 'a.png', (4, 5))
    assert result['image'] == 'a.png' and result['height'] == 4
    assert result['width'] == 5 and result['classes'] == ['kite', 'balloon']
    assert result['detections'][0] == dict(
        label='balloon', label_id=1, score=0.8765,
        bbox=[1.0, 2.0, 3.0, 4.0], mask=rle)
    assert result['detections'][1]['label'] == 'kite'


def test_typed_words_give_labelled_boxes_masks_and_json(tiny, image):
    _, demo = tiny
    drawn, status, result, path = demo.detect(image, MY_WORDS,
                                              'kite . balloon', 0., 4)
    assert status.startswith('4 detections (score >= 0, at most 4) of 2 '
                             'classes in ')
    assert 'inference' in status and 'drawing' in status
    assert demo.classes == ('kite', 'balloon')
    assert result['classes'] == ['kite', 'balloon']
    assert len(result['detections']) == 4
    assert {d['label'] for d in result['detections']} <= {'kite', 'balloon'}
    assert all('mask' in d for d in result['detections'])
    scores = [d['score'] for d in result['detections']]
    assert scores == sorted(scores, reverse=True)
    assert json.load(open(path)) == result
    original = cv2.imread(image)[:, :, ::-1]
    assert drawn.shape == original.shape
    assert np.abs(drawn.astype(int) - original).mean() > 1
    # nothing scores above 1: the image comes back as it was
    drawn, status, result, _ = demo.detect(image, MY_WORDS, 'kite . balloon',
                                           1., 4)
    assert status.startswith('0 detections') and result['detections'] == []
    assert np.array_equal(drawn, original)


def test_model_classes_come_back_after_words(tiny, image):
    _, demo = tiny
    demo.detect(image, MY_WORDS, 'kite', 0., 3)
    assert demo.head.num_classes == 1
    _, status, result, _ = demo.detect(image, MODEL_CLASSES, 'kite', 0., 3)
    assert demo.classes == tuple(SHAPE_CLASSES) == tuple(result['classes'])
    assert demo.head.num_classes == 8
    assert torch.equal(demo.head.test_embeddings, demo.model_vocabulary)


def test_messages_for_an_empty_vocabulary_and_a_bad_upload(tiny, image,
                                                           tmp_path):
    _, demo = tiny
    out = demo.detect(image, MY_WORDS, ' . ', 0., 3)
    assert out[0] is None and out[2:] == (None, None)
    assert out[1].startswith('**The vocabulary is empty: type class names')
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'\xff\xd8 truncated')
    assert demo.detect(str(bad), MY_WORDS, 'kite', 0., 3)[1] == (
        '**Cannot read broken.jpg as an image: expected a PNG, JPEG, BMP, '
        'TIFF or WebP file.**')
    assert demo.detect(image, MY_PROMPTS, None, 0., 3,
                       [image])[1] == ('**This model takes no image '
                                       'prompts.**')


def test_missing_clip_weights_are_reported_in_the_page(tiny, image):
    files, _ = tiny
    demo = WebDemo(files['config'], files['weights'], templates='simple',
                   clip_checkpoint=files['clip'] + '.missing')
    message = demo.detect(image, MY_WORDS, 'kite', 0., 3)[1]
    assert message.startswith('**The words could not be used: ')
    assert 'clip_rn-tiny.pth.missing' in message


def test_a_fixed_class_model_refuses_words(image):
    demo = WebDemo(_tiny_yolact(YOLACT))  # random weights
    assert not demo.open_vocabulary
    assert demo.classes == tuple(SHAPE_CLASSES)
    message = demo.detect(image, MY_WORDS, 'kite', 0., 3)[1]
    assert message.startswith('**This model (YOLACT) has fixed classes '
                              '(circle, square, ')
    assert message.endswith('''choose "the model's classes".**''')
    assert demo.detect(image, MY_WORDS, '', 0., 3)[1] == message
    _, status, result, _ = demo.detect(image, MODEL_CLASSES, 'kite', 0., 3)
    assert status.startswith('3 detections')
    assert all('mask' in d for d in result['detections'])


def test_open_vocabulary_yolact_embeds_words_with_a_named_clip(tiny, image):
    files, _ = tiny
    cfg = _tiny_yolact(
        YOLACT_OVD, **{
            'model.bbox_head.train_vocabulary': files['emb'],
            'model.bbox_head.test_vocabulary': files['emb'],
            'model.mask_head.num_classes': 8
        })
    demo = WebDemo(cfg, clip_checkpoint=files['clip'], clip_model='RN-tiny',
                   templates='simple')
    _, status, result, _ = demo.detect(image, MY_WORDS, 'kite . balloon', 0.,
                                       2)
    assert status.startswith('2 detections (score >= 0, at most 2) of 2 ')
    assert demo.head.num_classes == 2
    assert {d['label'] for d in result['detections']} <= {'kite', 'balloon'}


def test_image_prompts_extension_point(tiny, image):
    files, _ = tiny
    seen = []

    def prompter(images):
        seen.append([im.shape for im in images])
        return Vocabulary(torch.randn(2, 64), ['red thing', 'blue thing'])

    demo = WebDemo(files['config'], files['weights'],
                   image_prompter=prompter)
    _, status, result, _ = demo.detect(image, MY_PROMPTS, None, 0., 2,
                                       [image, image])
    assert seen == [[(96, 96, 3), (96, 96, 3)]]
    assert result['classes'] == ['red thing', 'blue thing']
    assert demo.detect(image, MY_PROMPTS, None, 0., 2, [])[1] == (
        '**Upload at least one prompt image.**')
    from mmregion.apis.web_demo_page import build_blocks
    ids = [b.elem_id for b in build_blocks(demo).blocks.values()]
    assert 'prompt-input' in ids and 'detect' in ids


def test_page_layout_and_examples(tiny, shapes_root, tmp_path):
    from mmregion.apis.web_demo_page import build_blocks, example_images
    _, demo = tiny
    examples = example_images([osp.join(shapes_root, 'val')], limit=3)
    assert [osp.basename(e) for e in examples] == [
        '000000.png', '000001.png', '000002.png'
    ]
    with pytest.raises(FileNotFoundError, match='nowhere.png does not'):
        example_images([str(tmp_path / 'nowhere.png')])
    blocks = build_blocks(demo, examples, score_thr=0.2)
    ids = {b.elem_id: b for b in blocks.blocks.values() if b.elem_id}
    assert {'image-input', 'input-preview', 'vocab-mode', 'words',
            'score-thr', 'max-dets',
            'detect', 'result-image', 'status', 'download',
            'detections'} <= set(ids)
    assert 'prompt-input' not in ids
    assert ids['score-thr'].value == 0.2
    assert ids['vocab-mode'].value == MY_WORDS


def test_cli_help_and_one_line_errors(tmp_path, monkeypatch, capsys):
    import runpy
    script = osp.join(REPO, 'demo', 'web_demo.py')
    proc = subprocess.run([sys.executable, script, '--help'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and '--weights' in proc.stdout
    assert '--port' in proc.stdout
    missing = str(tmp_path / 'missing.py')
    monkeypatch.setattr(sys, 'argv', ['web_demo.py', missing])
    with pytest.raises(SystemExit) as error:
        runpy.run_path(script, run_name='__main__')
    assert error.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: FileNotFoundError: [Errno 2] No such file or "
                   f"directory: '{missing}'"]


def test_make_tiny_demo_model_tool(tmp_path, monkeypatch, capsys):
    import runpy
    out = str(tmp_path / 'tiny')
    monkeypatch.setattr(sys, 'argv', ['make_tiny_demo_model.py', out])
    runpy.run_path(osp.join(REPO, 'tools/misc/make_tiny_demo_model.py'),
                   run_name='__main__')
    printed = capsys.readouterr().out
    assert f'python demo/web_demo.py {out}/config.py --weights ' \
        f'{out}/detector.pth --score-thr 0' in printed
    cfg = Config.fromfile(osp.join(out, 'config.py'))
    assert cfg.model.backbone.checkpoint == osp.join(out, 'clip_rn-tiny.pth')
    checkpoint = torch.load(osp.join(out, 'detector.pth'), weights_only=True)
    assert checkpoint['meta']['dataset_meta']['classes'] == tuple(
        SHAPE_CLASSES)
    assert torch.load(osp.join(out, 'emb_rn-tiny_all.pth'),
                      weights_only=True).shape == (8, 64)
