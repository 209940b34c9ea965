"""Real-time demos: video file, folder and camera sources, FPS overlay,
batches of frames."""
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
from mmdet.visualization import local_visualizer
from mmengine.config import Config

from mmregion.apis.realtime import (
    FPSMeter,
    FrameSource,
    array_test_pipeline,
    draw_fps,
    init_realtime_model,
    run_realtime,
)
from mmregion.apis.realtime_batch import batched, segment_frames
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


def _write_video(shapes_root: str, path: str, count: int) -> list:
    """An mp4 of the first ``count`` synthetic val images (96 x 96)."""
    images = [
        cv2.imread(p) for p in sorted(
            glob.glob(osp.join(shapes_root, 'val', '*.png')))[:count]
    ]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (SIZE, SIZE))
    for image in images:
        writer.write(image)
    writer.release()
    return images


@pytest.fixture(scope='module')
def video(shapes_root, tmp_path_factory):
    """A 5-frame mp4 of the synthetic val images (96 x 96) and its frames."""
    path = str(tmp_path_factory.mktemp('video') / 'shapes.mp4')
    return path, _write_video(shapes_root, path, 5)


@pytest.fixture(scope='module')
def video7(shapes_root, tmp_path_factory):
    """A 7-frame mp4: two batches of 3 and a last one of 1."""
    path = str(tmp_path_factory.mktemp('video7') / 'shapes7.mp4')
    _write_video(shapes_root, path, 7)
    return path


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


def test_batched_returns_lists_of_size_and_a_last_short_one():
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched(range(6), 3)) == [[0, 1, 2], [3, 4, 5]]
    assert list(batched([], 2)) == []
    with pytest.raises(ValueError, match='size must be an integer >= 1'):
        list(batched(range(3), 0))


def test_batches_of_frames_give_the_detections_of_single_frames(video7):
    """One forward pass per 3 frames (3, 3, then the last 1), the same
    boxes, scores and labels as frame by frame, in order."""
    torch.manual_seed(0)
    cfg = _tiny()
    cfg.model.test_cfg.score_thr = 0.  # keep every detection to compare
    model = init_realtime_model(cfg)
    pipeline = array_test_pipeline(model.cfg)
    frames = list(FrameSource(video7))
    sizes = []
    test_step = model.test_step

    def counting_test_step(data):
        sizes.append(len(data['inputs']))
        return test_step(data)

    model.test_step = counting_test_step
    single = list(segment_frames(model, pipeline, frames, batch_size=1))
    assert sizes == [1] * 7
    sizes.clear()
    batched3 = list(segment_frames(model, pipeline, frames, batch_size=3))
    assert sizes == [3, 3, 1]
    assert [n for n, *_ in batched3] == [n for n, *_ in single] == [
        f'{i:06d}.jpg' for i in range(7)
    ]
    assert batched3[0][3] == batched3[2][3] > 0  # a batch shares its time
    for (_, frame1, one, _), (_, frame3, three, _) in zip(single, batched3):
        assert frame1 is frame3
        one, three = one.pred_instances, three.pred_instances
        assert len(one) == len(three) > 0
        torch.testing.assert_close(three.bboxes, one.bboxes,
                                   atol=1e-3, rtol=1e-4)
        torch.testing.assert_close(three.scores, one.scores,
                                   atol=1e-4, rtol=1e-4)
        assert torch.equal(three.labels, one.labels)
        assert three.masks.shape == one.masks.shape


def test_batched_run_writes_the_frames_of_one_at_a_time(
        video7, tmp_path, monkeypatch):
    # mmdet jitters each mask's colour with numpy's global random state
    monkeypatch.setattr(local_visualizer, 'jitter_color', tuple)
    runs = {}
    for batch_size in (1, 3):
        torch.manual_seed(0)
        lines = []
        out = tmp_path / f'b{batch_size}'
        stats = run_realtime(
            _tiny(), video7, out_video=str(out / 'drawn.mp4'),
            out_dir=str(out / 'frames'), score_thr=0.05,
            batch_size=batch_size, log=lines.append)
        assert stats['frames'] == len(stats['fps']) == 7
        assert len(_read_video(str(out / 'drawn.mp4'))) == 7
        names = sorted(osp.basename(p) for p in glob.glob(f'{out}/frames/*'))
        assert names == [f'{i:06d}.jpg' for i in range(7)]
        assert lines[6].startswith('frame 6 (000006.jpg): ')
        assert lines[-1].startswith(f'7 frames of {video7}: mean ')
        runs[batch_size] = stats, [
            cv2.imread(f'{out}/frames/{name}') for name in names
        ]
    (one, frames1), (three, frames3) = runs[1], runs[3]
    assert three['instances'] == one['instances']
    assert sum(one['instances']) > 0  # something is drawn
    for frame1, frame3 in zip(frames1, frames3):
        # the same drawing but for the FPS figure in the corner (jpg codes
        # 16 x 16 blocks of identical pixels identically; the figures may
        # differ or not)
        assert frame1[:2, :2].max() < 30 and frame3[:2, :2].max() < 30
        diff = np.abs(frame1.astype(int) - frame3.astype(int))
        diff[:16, :64] = 0
        assert diff.max() <= 2 and diff.mean() < 0.01


def test_max_frames_cut_the_last_batch(shapes_root):
    stats = run_realtime(
        _tiny(), osp.join(shapes_root, 'val'), max_frames=5, batch_size=3,
        fp16=True, log=lambda _: 0)
    assert stats['frames'] == 5 and len(stats['instances']) == 5


def test_batch_size_below_one_is_refused(video, monkeypatch, tmp_path,
                                         capsys):
    """Before the source is opened or the model built."""
    with pytest.raises(ValueError, match='batch_size must be an integer'):
        run_realtime(_tiny(), video[0], batch_size=0)
    monkeypatch.chdir(tmp_path)
    script = 'demo/video_demo.py'
    monkeypatch.setattr(sys, 'argv', [
        script, video[0], CONFIG, '--out', 'o.mp4', '--batch-size', '0'
    ])
    with pytest.raises(SystemExit) as error:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    assert error.value.code == 2
    err = capsys.readouterr().err  # (after any import-time warnings)
    assert err.count('error: ') == 1 and ('\n' + err).endswith(
        '\nerror: --batch-size must be an integer >= 1 (frames per forward '
        'pass), got 0\n')
    assert not (tmp_path / 'o.mp4').exists()


def test_webcam_help_names_the_batch_latency(monkeypatch, capsys):
    script = 'demo/webcam_demo.py'
    monkeypatch.setattr(sys, 'argv', [script, '--help'])
    with pytest.raises(SystemExit) as error:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    assert error.value.code == 0
    out = ' '.join(capsys.readouterr().out.split())
    assert '--batch-size N frames per forward pass (default 1)' in out
    assert 'a batch adds N-1 frames of latency' in out
