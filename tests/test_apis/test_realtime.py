"""Real-time demos: video file, folder and camera sources, FPS overlay."""
import glob
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmengine.config import Config

from mmregion.apis.realtime import (
    FPSMeter,
    FrameSource,
    draw_fps,
    init_realtime_model,
    run_realtime,
)
from mmregion.models.language import Vocabulary

CONFIG = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes.py')
OVD_CONFIG = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes-ovd.py')
SIZE = 96
FEAT_SIZES = [12, 6, 3, 2, 1]  # P3-P7 at 96 px


def _tiny(path: str = CONFIG, **changes) -> Config:
    """The synthetic YOLACT at 96 px, widths 4/16, 8 prototypes."""
    cfg = Config.fromfile(path)
    pipeline = [
        step for step in cfg.test_dataloader.dataset.pipeline
        if step['type'] != 'Resize'
    ]
    pipeline.insert(1, dict(type='Resize', scale=(SIZE, SIZE),
                            keep_ratio=False))
    cfg.merge_from_dict({
        'model.backbone.base_channels': 4,
        'model.neck.in_channels': [16, 32, 64, 128],
        'model.neck.out_channels': 16,
        'model.bbox_head.in_channels': 16,
        'model.bbox_head.feat_channels': 16,
        'model.bbox_head.num_protos': 8,
        'model.bbox_head.anchor_generator.strides':
        [SIZE / x for x in FEAT_SIZES],
        'model.bbox_head.anchor_generator.centers':
        [(SIZE / 2 / x, SIZE / 2 / x) for x in FEAT_SIZES],
        'model.mask_head.in_channels': 16,
        'model.mask_head.num_protos': 8,
        'model.mask_head.proto_channels': (16, 16, 16, None, 16, 8),
        'test_dataloader.dataset.pipeline': pipeline,
        **changes
    })
    return cfg


@pytest.fixture(scope='module')
def video(shapes_root, tmp_path_factory):
    """A 5-frame mp4 of the synthetic val images (96 x 96) and its frames."""
    path = str(tmp_path_factory.mktemp('video') / 'shapes.mp4')
    images = [
        cv2.imread(p)
        for p in sorted(glob.glob(osp.join(shapes_root, 'val', '*.png')))[:5]
    ]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (SIZE, SIZE))
    for image in images:
        writer.write(image)
    writer.release()
    return path, images


def _read_video(path: str):
    capture = cv2.VideoCapture(path)
    frames = []
    ok, frame = capture.read()
    while ok:
        frames.append(frame)
        ok, frame = capture.read()
    capture.release()
    return frames


def test_video_gets_every_frame_drawn_with_the_fps_overlay(video, tmp_path):
    path, _ = video
    inputs = _read_video(path)
    out = str(tmp_path / 'out' / 'drawn.mp4')
    lines = []
    torch.manual_seed(0)
    # no instance scores 1.01, so only the overlay changes the frames
    stats = run_realtime(
        _tiny(), path, out_video=out, score_thr=1.01, log=lines.append)
    assert stats['frames'] == 5 and len(stats['fps']) == 5
    assert stats['instances'] == [0] * 5 and stats['mean_fps'] > 0
    frames = _read_video(out)
    assert len(frames) == 5
    assert all(f.shape == (SIZE, SIZE, 3) for f in frames)
    for frame, original in zip(frames, inputs):
        diff = np.abs(frame.astype(int) - original.astype(int)).mean(-1)
        assert diff[:8, :30].mean() > 40  # the black box with white text
        assert diff[SIZE // 2:, :].mean() < 10  # codec noise elsewhere
    assert lines[0].startswith('frame 0 (000000.jpg): 0 instances, ')
    assert lines[-1].startswith(f'5 frames of {path}: mean ')


def test_folder_writes_one_image_per_input(shapes_root, tmp_path):
    folder = osp.join(shapes_root, 'val')
    out_dir = str(tmp_path / 'vis')
    stats = run_realtime(_tiny(), folder, out_dir=out_dir, log=lambda _: 0)
    inputs = sorted(osp.basename(p) for p in glob.glob(folder + '/*.png'))
    assert sorted(osp.basename(p)
                  for p in glob.glob(out_dir + '/*')) == inputs
    assert stats['frames'] == len(inputs) == 8
    drawn = cv2.imread(osp.join(out_dir, inputs[0]))
    original = cv2.imread(osp.join(folder, inputs[0]))
    assert drawn.shape == original.shape
    assert not np.array_equal(drawn[:8, :30], original[:8, :30])


def test_max_frames_and_video_output_from_a_folder(shapes_root, tmp_path):
    out = str(tmp_path / 'folder.mp4')
    stats = run_realtime(
        _tiny(), osp.join(shapes_root, 'val'), out_video=out, max_frames=3,
        log=lambda _: 0)
    assert stats['frames'] == 3 and len(_read_video(out)) == 3


def test_fp16_frames(shapes_root):
    """bfloat16 autocast on the CPU runs YOLACT's backbone and neck; the
    detections stay float32 for mmcv's kernels and the drawing."""
    stats = run_realtime(
        _tiny(), osp.join(shapes_root, 'val'), max_frames=2, fp16=True,
        log=lambda _: 0)
    assert stats['frames'] == 2 and len(stats['instances']) == 2


def test_bad_sources_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.mp4 does not exist'):
        run_realtime(_tiny(), str(tmp_path / 'nope.mp4'))
    with pytest.raises(RuntimeError, match='cannot open camera 97'):
        FrameSource(97)
    with pytest.raises(RuntimeError, match='cannot open camera 96'):
        FrameSource('96')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no images'):
        FrameSource(str(tmp_path / 'empty'))
    (tmp_path / 'not_a_video.mp4').write_text('hello')
    with pytest.raises(RuntimeError, match='cannot read .* as a video'):
        FrameSource(str(tmp_path / 'not_a_video.mp4'))


def test_draw_fps_changes_only_the_corner():
    image = np.full((120, 200, 3), 128, np.uint8)
    drawn = draw_fps(image.copy(), 12.34)
    changed = np.argwhere((drawn != image).any(-1))
    assert len(changed) > 50
    assert changed[:, 0].max() < 30 and changed[:, 1].max() < 80
    assert drawn[0, 0].tolist() == [0, 0, 0]


def test_fps_meter_smooths_the_frame_time():
    meter = FPSMeter(momentum=0.5)
    assert meter.update(0.1) == pytest.approx(10)
    assert meter.update(0.3) == pytest.approx(5)  # 1 / (0.5 * 0.1 + 0.5 * 0.3)
    assert FPSMeter(0).update(0.25) == pytest.approx(4)
    with pytest.raises(ValueError, match='momentum'):
        FPSMeter(1.0)


def test_texts_set_the_vocabulary_of_an_open_vocabulary_model(tmp_path):
    torch.manual_seed(0)
    base = F.normalize(torch.randn(6, 64), dim=-1)
    cfg = _tiny(
        OVD_CONFIG, **{
            'model.bbox_head.train_vocabulary': base,
            'model.bbox_head.test_vocabulary': base,
            'model.mask_head.num_classes': 6,
        })
    vocab = str(tmp_path / 'vocab.pth')
    Vocabulary(torch.randn(3, 64), ['cat', 'dog', 'kite']).save(vocab)
    model = init_realtime_model(cfg, texts=vocab)
    assert model.bbox_head.num_classes == 3
    assert model.dataset_meta['classes'] == ('cat', 'dog', 'kite')
    with pytest.raises(ValueError, match='no open-vocabulary head'):
        init_realtime_model(_tiny(), texts=vocab)


@pytest.mark.parametrize('script,args', [
    ('demo/video_demo.py', ['missing.mp4', CONFIG, '--out', 'o.mp4']),
    ('demo/webcam_demo.py', [CONFIG, '--folder', 'missing', '--out-dir', 'o']),
    ('demo/webcam_demo.py', [CONFIG, '--camera-id', '95', '--out-dir', 'o']),
])
def test_demo_clis_exit_with_the_error(script, args, monkeypatch, tmp_path,
                                      capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'argv', [script] + args)
    with pytest.raises(SystemExit) as error:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1
    assert 'does not exist' in err or 'cannot open camera 95' in err
