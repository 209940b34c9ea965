"""RegionCLIP detector: zero-shot (GT / offline RPN) and fine-tuned."""
import copy
from typing import List, Tuple

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import get_box_tensor, scale_boxes
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor, nn
from torch.nn import functional as F

PROPOSAL_SOURCES = ('rpn', 'offline_rpn', 'gt')


@torch.no_grad()
def offline_rpn_proposals(
        offline_rpn: nn.Module, data_preprocessor: nn.Module,
        batch_inputs: Tensor,
        batch_data_samples: SampleList) -> List[InstanceData]:
    """Proposals of a frozen mmdet ``RPN`` detector on our inputs.

    The inputs are de-normalised with ``data_preprocessor``'s statistics
    and re-normalised with the RPN's own (channel order included); the
    RPN's input is then laid out as its own preprocessor would lay out the
    same images (:func:`rpn_input_layout`: each image's padding set to the
    RPN's ``pad_value``, the batch padded to its ``pad_size_divisor``), as
    RegionCLIP's ``offline_preprocess_image`` pads for its own backbone.
    Its backbone (+ neck) and RPN head run with the RPN's test settings.

    Args:
        offline_rpn (nn.Module): An mmdet ``RPN`` detector (eval mode).
        data_preprocessor (nn.Module): The preprocessor that normalised
            ``batch_inputs`` (``mean``, ``std``, channel conversion).
        batch_inputs (Tensor): (B, 3, H, W) normalised images.
        batch_data_samples (list[DetDataSample]): Image metas.

    Returns:
        list[InstanceData]: Per image ``bboxes`` (n, 4) in the input's
        coordinates and ``scores`` (n,), the objectness probabilities.
    """
    ours, theirs = data_preprocessor, offline_rpn.data_preprocessor
    raw = batch_inputs * ours.std + ours.mean
    if ours._channel_conversion != theirs._channel_conversion:
        raw = raw.flip(1)
    inputs = rpn_input_layout((raw - theirs.mean) / theirs.std,
                              batch_data_samples, theirs.pad_size_divisor,
                              theirs.pad_value)
    feats = offline_rpn.extract_feat(inputs)
    return offline_rpn.bbox_head.predict(
        feats, batch_data_samples, rescale=False)


def rpn_input_layout(inputs: Tensor, batch_data_samples: SampleList,
                     pad_size_divisor: int, pad_value: float) -> Tensor:
    """Pad normalised images as an mmdet preprocessor would pad them.

    Pixels outside each image's ``img_shape`` (the padding of the batch
    they came in) become ``pad_value``, and the batch is padded on the
    right and bottom to a multiple of ``pad_size_divisor``.

    Args:
        inputs (Tensor): (B, 3, H, W) normalised images.
        batch_data_samples (list[DetDataSample]): ``img_shape`` per image.
        pad_size_divisor (int): Multiple of the padded size (1: none).
        pad_value (float): Value of padded pixels.

    Returns:
        Tensor: (B, 3, H', W'), H' and W' multiples of the divisor.
    """
    height, width = inputs.shape[-2:]
    shapes = [s.metainfo.get('img_shape', (height, width))[:2]
              for s in batch_data_samples]
    if any(tuple(shape) != (height, width) for shape in shapes):
        inputs = inputs.clone()
        for image, (h, w) in zip(inputs, shapes):
            image[:, h:, :] = pad_value
            image[:, :, w:] = pad_value
    divisor = max(int(pad_size_divisor), 1)
    pad_h, pad_w = -height % divisor, -width % divisor
    if pad_h or pad_w:
        inputs = F.pad(inputs, (0, pad_w, 0, pad_h), value=pad_value)
    return inputs


@MODELS.register_module()
class RegionCLIP(TwoStageDetector):
    """RegionCLIP on mmdet: a CLIP ResNet, proposals, a region-text RoI head.

    Data flow: image → ``data_preprocessor`` (CLIP pixel statistics) →
    ``backbone`` (:class:`CLIPResNet`, res4 at stride 16) → proposals →
    RoIAlign on res4 → the backbone's res5 + attention pool → text
    classifier and box regressor (:class:`RegionCLIPRoIHead`), and with a
    ``roi_head.mask_head`` class-agnostic masks from the res5 maps.

    Proposals come from ``proposal_source``:

    * ``'rpn'``: a trainable ``rpn_head`` on res4 (Faster R-CNN C4 layout);
    * ``'offline_rpn'``: a frozen, separately trained mmdet ``RPN`` detector
      (``offline_rpn``: an R50-C4 RPN, or an R50-FPN one with a ``neck``
      as RegionCLIP's LVIS RPN) with its own backbone and its own pixel
      normalisation (the input is de-normalised with ours and re-normalised
      with its ``data_preprocessor``'s statistics and channel order);
      scores at test time then combine class probability and objectness;
    * ``'gt'``: the ground-truth boxes of each image (zero-shot recognition
      with known boxes; the test pipeline must load annotations).

    Args:
        backbone (dict): A :class:`CLIPResNet` config.
        roi_head (dict): A :class:`RegionCLIPRoIHead` config.
        train_cfg (dict): ``rpn``/``rpn_proposal``/``rcnn`` settings.
        test_cfg (dict): ``rpn``/``rcnn`` settings.
        proposal_source (str): One of 'rpn', 'offline_rpn', 'gt'.
        rpn_head (dict, optional): The trainable RPN (source 'rpn').
        offline_rpn (dict, optional): An mmdet ``RPN`` detector config
            (source 'offline_rpn'), with its own ``data_preprocessor``.
        neck (dict, optional): Must be None: the RoI head reads the CLIP
            backbone's res4 map directly, so a neck would get no gradient
            (and break DDP with ``find_unused_parameters=False``). An FPN
            offline RPN has its neck inside ``offline_rpn``.
        data_preprocessor (dict, optional): Our preprocessor (CLIP stats).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 roi_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 proposal_source: str = 'rpn',
                 rpn_head: OptConfigType = None,
                 offline_rpn: OptConfigType = None,
                 neck: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if proposal_source not in PROPOSAL_SOURCES:
            raise ValueError(f'RegionCLIP: proposal_source must be one of '
                             f'{PROPOSAL_SOURCES}, got {proposal_source!r}')
        if proposal_source == 'rpn' and rpn_head is None:
            raise ValueError("RegionCLIP: proposal_source='rpn' needs an "
                             'rpn_head config')
        if proposal_source == 'offline_rpn' and offline_rpn is None:
            raise ValueError("RegionCLIP: proposal_source='offline_rpn' needs "
                             'an offline_rpn config (an mmdet RPN detector)')
        if neck is not None:
            raise ValueError(
                f"RegionCLIP: neck={dict(neck).get('type', neck)!r} would "
                f'never run (the RoI head reads the CLIP res4 map and the '
                f'box head pools res5 itself); remove model.neck, or give an '
                f"FPN offline RPN its neck inside model.offline_rpn")
        super().__init__(
            backbone=backbone,
            neck=None,
            rpn_head=rpn_head if proposal_source == 'rpn' else None,
            roi_head=roi_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.proposal_source = proposal_source
        text_dim = self.roi_head.bbox_head.classifier.embed_dim
        if getattr(self.backbone, 'embed_dim', text_dim) != text_dim:
            raise ValueError(
                f'RegionCLIP: the backbone embeds regions in '
                f'{self.backbone.embed_dim} dims but roi_head.bbox_head.'
                f'embed_dim is {text_dim} ({text_dim} vs '
                f'{self.backbone.embed_dim}); use text embeddings of the '
                f'same CLIP model')
        self.roi_head.set_region_encoder(self.backbone.res5_regions,
                                        self.backbone.embed_res5)
        self.offline_rpn = None
        if offline_rpn is not None and proposal_source == 'offline_rpn':
            self.offline_rpn = MODELS.build(copy.deepcopy(offline_rpn))
            self.offline_rpn.requires_grad_(False)
            self.offline_rpn.eval()

    def train(self, mode: bool = True) -> 'RegionCLIP':
        """Set the mode; the offline RPN always stays in eval mode."""
        super().train(mode)
        if self.offline_rpn is not None:
            self.offline_rpn.eval()
        return self

    @property
    def with_rpn(self) -> bool:
        """Whether proposals come from a trainable RPN head."""
        return self.proposal_source == 'rpn'

    def _offline_proposals(
            self, batch_inputs: Tensor,
            batch_data_samples: SampleList) -> List[InstanceData]:
        """Proposals (``bboxes``, ``scores`` = objectness) of the offline
        RPN."""
        return offline_rpn_proposals(self.offline_rpn, self.data_preprocessor,
                                     batch_inputs, batch_data_samples)

    @staticmethod
    def _gt_proposals(batch_data_samples: SampleList,
                      test_mode: bool = False) -> List[InstanceData]:
        """Ground-truth boxes as proposals.

        In ``test_mode`` the boxes are in original image coordinates (mmdet's
        test pipelines load annotations after ``Resize``) and are scaled by
        the sample's ``scale_factor`` into the input's coordinates, and they
        carry no ``scores``: a ground-truth box has no objectness for
        ``use_objectness`` to combine (its score is the class probability).
        In training they have objectness 1.
        """
        proposals = []
        for sample in batch_data_samples:
            gt = sample.get('gt_instances')
            if gt is None or 'bboxes' not in gt:
                raise ValueError(
                    "RegionCLIP: proposal_source='gt' needs ground-truth "
                    'boxes in the data samples; add LoadAnnotations to the '
                    'test pipeline')
            boxes = get_box_tensor(gt.bboxes)
            if test_mode:
                boxes = scale_boxes(boxes, sample.metainfo['scale_factor'])
            proposals.append(
                InstanceData(bboxes=boxes) if test_mode else InstanceData(
                    bboxes=boxes, scores=boxes.new_ones(len(boxes))))
        return proposals

    def _proposals(self,
                   batch_inputs: Tensor,
                   batch_data_samples: SampleList,
                   test_mode: bool = False) -> List[InstanceData]:
        if self.proposal_source == 'gt':
            return self._gt_proposals(batch_data_samples, test_mode)
        return self._offline_proposals(batch_inputs, batch_data_samples)

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        """Training losses (RPN losses only with a trainable RPN).

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[DetDataSample]): With ``gt_instances``.

        Returns:
            dict[str, Tensor]: Losses.
        """
        if self.with_rpn:
            return super().loss(batch_inputs, batch_data_samples)
        x = self.extract_feat(batch_inputs)
        proposals = self._proposals(batch_inputs, batch_data_samples)
        return self.roi_head.loss(x, proposals, batch_data_samples)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Detect objects with the active (test) vocabulary.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[DetDataSample]): Image metas (and gt
                boxes for ``proposal_source='gt'``).
            rescale (bool): Boxes in original image coordinates.

        Returns:
            list[DetDataSample]: With ``pred_instances``.
        """
        if self.with_rpn:
            return super().predict(batch_inputs, batch_data_samples, rescale)
        x = self.extract_feat(batch_inputs)
        proposals = self._proposals(
            batch_inputs, batch_data_samples, test_mode=True)
        results = self.roi_head.predict(
            x, proposals, batch_data_samples, rescale=rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """Backbone maps (res4 for the C4 layout).

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.

        Returns:
            tuple[Tensor]: The backbone's ``out_indices`` maps.
        """
        return self.backbone(batch_inputs)
