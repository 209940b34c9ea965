"""RegionCLIP parity runners: the parts that need no official clone (the
full runs are in test_official_parity.py, with MMREGION_OFFICIAL_DIR)."""
import os.path as osp

import pytest
import torch
from torch import nn

from mmregion.analysis.parity import CLONES, OfficialCodeError, load_runners
from mmregion.analysis.parity.regionclip import REPO, SPECS, randomize_official
from mmregion.analysis.parity.regionclip_official import regionclip_code
from mmregion.analysis.parity.regionclip_run import (
    synthetic_boxes,
    synthetic_image,
)

NAMES = [
    f'regionclip_{arch}_c4_{mode}' for arch in ('rn50', 'rn50x4')
    for mode in ('zeroshot_gt', 'zeroshot_rpn', 'finetuned_coco',
                 'finetuned_lvis_mask')
]


def test_every_model_is_registered_with_its_configs():
    runners = load_runners()
    for name in NAMES:
        assert name in runners and CLONES[name] == 'RegionCLIP'
        assert osp.isfile(osp.join(REPO, SPECS[name].ours)), name
    assert SPECS['regionclip_rn50_c4_zeroshot_rpn'].logit
    assert SPECS['regionclip_rn50_c4_finetuned_lvis_mask'].logit
    assert not SPECS['regionclip_rn50_c4_finetuned_coco'].logit


class _FrozenBN(nn.Module):

    def __init__(self, n):
        super().__init__()
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            self.register_buffer(name, torch.zeros(n))


class _Predictor(nn.Module):

    def __init__(self):
        super().__init__()
        self.cls_score = nn.Linear(4, 3, bias=False)
        self.cls_bg_score = nn.Linear(4, 1, bias=False)
        self.bbox_pred = nn.Linear(4, 4)


def test_randomize_official_sets_every_weight_but_the_embeddings():
    model = nn.Module()
    model.conv = nn.Conv2d(3, 4, 3)
    model.bn = _FrozenBN(4)
    model.roi_heads = nn.Module()
    model.roi_heads.box_predictor = _Predictor()
    for p in model.parameters():
        nn.init.zeros_(p)
    randomize_official(model, seed=0)
    state = model.state_dict()
    assert (state['bn.running_var'] >= 0.5).all()
    for key in ('conv.weight', 'conv.bias', 'bn.weight', 'bn.bias',
                'bn.running_mean', 'roi_heads.box_predictor.bbox_pred.weight'):
        assert state[key].count_nonzero() == state[key].numel(), key
    # text embeddings come from their files, the background one is zero
    assert not state['roi_heads.box_predictor.cls_score.weight'].any()
    assert not state['roi_heads.box_predictor.cls_bg_score.weight'].any()
    randomize_official(model, seed=0)  # same seed, same values
    assert torch.equal(model.state_dict()['conv.weight'], state['conv.weight'])


def test_synthetic_inputs():
    image = synthetic_image((48, 67), 0)
    assert image.shape == (48, 67, 3) and image.dtype.name == 'uint8'
    assert image.std() > 10
    boxes = synthetic_boxes((48, 67), 5, 0)
    assert boxes.shape == (5, 4)
    assert (boxes[:, 2:] > boxes[:, :2]).all()
    assert (boxes[:, 2] <= 66).all() and (boxes[:, 3] <= 47).all()


def test_missing_clone_or_deps_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(OfficialCodeError, match='does not exist'):
        with regionclip_code(str(tmp_path / 'nowhere')):
            pass
    clone = tmp_path / 'RegionCLIP'
    for marker in ('detectron2/modeling/meta_arch/clip_rcnn.py',
                   'configs/COCO-InstanceSegmentation/'
                   'CLIP_fast_rcnn_R_50_C4_ovd.yaml'):
        (clone / marker).parent.mkdir(parents=True, exist_ok=True)
        (clone / marker).write_text('')
    monkeypatch.setenv('MMREGION_OFFICIAL_PYDEPS', str(tmp_path / 'deps'))
    with pytest.raises(OfficialCodeError, match='needs fvcore'):
        with regionclip_code(str(clone)):
            pass
