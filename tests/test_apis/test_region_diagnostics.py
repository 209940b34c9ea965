"""Pseudo-label bookkeeping of the region diagnostics, by hand."""
import math

import pytest
import torch
from mmengine.structures import InstanceData

from mmregion.apis.region_diagnostics import (
    _pseudo_label_summary,
    _region_rows,
    dataset_classes,
)
from mmregion.models.losses.region_text_losses import PseudoLabels


def test_pseudo_label_rows_and_summary():
    classes, novel = ('circle', 'heart'), ('heart', )
    names = ['circle', 'heart', 'picture']
    gt = InstanceData(bboxes=torch.tensor([[0., 0., 10., 10.],
                                           [20., 20., 30., 30.]]),
                      labels=torch.tensor([0, 1]))
    regions = torch.tensor([
        [0., 0., 10., 10.],  # covers the circle, labelled circle: right
        [20., 20., 30., 31.],  # covers the heart, labelled circle: wrong
        [50., 50., 60., 60.],  # background, labelled heart (a shape)
        [20., 20., 30., 30.],  # covers the heart, right, but not kept
    ])
    labels = PseudoLabels(
        probs=torch.zeros(4, 3), labels=torch.tensor([0, 0, 1, 1]),
        keep=torch.tensor([True, True, True, False]))
    rows = _region_rows(regions, gt, labels, slice(0, 4), names, classes,
                        novel, 0.5)
    assert rows['covering'].tolist() == [True, True, False, True]
    assert rows['right'].tolist() == [True, False, False, True]
    assert rows['novel'].tolist() == [False, True, False, True]
    summary = _pseudo_label_summary([rows])
    assert summary['kept'] == pytest.approx(0.75)
    assert summary['covering'] == pytest.approx(0.75)
    assert summary['accuracy'] == pytest.approx(0.5)
    assert summary['accuracy_base'] == pytest.approx(1.0)
    assert summary['accuracy_novel'] == pytest.approx(0.0)
    assert summary['accuracy_unfiltered'] == pytest.approx(2 / 3)
    assert summary['kept_shape_on_background'] == pytest.approx(1.0)
    assert summary['regions'] == 4


def test_image_without_shapes_counts_as_background():
    gt = InstanceData(bboxes=torch.zeros(0, 4),
                      labels=torch.zeros(0, dtype=torch.long))
    labels = PseudoLabels(torch.zeros(1, 1), torch.tensor([0]),
                          torch.tensor([True]))
    rows = _region_rows(torch.tensor([[0., 0., 5., 5.]]), gt, labels,
                        slice(0, 1), ['picture'], ('circle', ), (), 0.5)
    summary = _pseudo_label_summary([rows])
    assert summary['covering'] == 0.0
    assert math.isnan(summary['accuracy'])
    assert summary['kept_shape_on_background'] == 0.0


def test_dataset_classes(shapes_root, tmp_path):
    classes, novel = dataset_classes(shapes_root)
    assert 'heart' in novel and set(novel) < set(classes)
    with pytest.raises(FileNotFoundError, match='no meta.json'):
        dataset_classes(str(tmp_path))
