"""RegionCLIP's box predictor: text-embedding classifier + class-agnostic
box regression on attention-pooled region embeddings."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import scale_boxes
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ...layers.open_vocabulary import OpenVocabularyMixin, VocabularyLike
from ...layers.torchvision_nms import multiclass_nms_torchvision

#: How RPN objectness enters the zero-shot score (see RegionCLIPBBoxHead).
OBJECTNESS_SCORES = ('sigmoid', 'logit')
#: Which per-class NMS runs the final detections.
NMS_BACKENDS = ('mmcv', 'torchvision')


@MODELS.register_module()
class RegionCLIPBBoxHead(OpenVocabularyMixin, BBoxHead):
    """Box head of RegionCLIP.

    Input: region embeddings (N, D) from the CLIP attention pool. Output:
    logits (N, C + 1) from :class:`TextClassifier` (cosine / temperature,
    background logit fixed at 0) and class-agnostic deltas (N, 4) from one
    ``Linear(D, 4)``. ``num_classes`` is not a setting: it is the size of the
    active vocabulary — ``train_vocabulary`` in train mode, and
    ``test_vocabulary`` (or the train one) in eval mode. :meth:`set_vocabulary`
    replaces the test vocabulary at inference time.

    Prediction (:meth:`predict_by_feat`) is RegionCLIP's: softmax
    probabilities, optionally combined with the RPN objectness as
    ``sqrt(p * sigmoid(objectness))`` (``objectness_score='sigmoid'``), or,
    with ``objectness_score='logit'``, as the official code does:
    ``sqrt(p * objectness_logit)``, which is NaN for the proposals with a
    negative logit; those proposals are dropped, as the official
    ``fast_rcnn_inference`` drops non-finite rows. Boxes are decoded unless
    ``no_box_delta`` (ground-truth proposals), then per-class NMS: mmdet's
    ``multiclass_nms`` (``nms_backend='mmcv'``), or torchvision's
    ``batched_nms`` as detectron2 calls it (``'torchvision'``,
    :func:`~mmregion.models.layers.multiclass_nms_torchvision`: mmcv's op
    rounds offset coordinates, which moves small boxes' IoUs with many
    classes).

    Args:
        embed_dim (int): Region/text embedding dim D (1024 RN50, 640 RN50x4).
        train_vocabulary (str | Tensor | dict, optional): Base-class
            embeddings (C_train, D): anything :func:`load_embeddings` reads.
        test_vocabulary (str | Tensor | dict, optional): Embeddings used in
            eval mode (e.g. base + novel); defaults to the train vocabulary.
        temperature (float): Classifier temperature. Defaults to 0.01.
        no_box_delta (bool): Predict the proposals' own boxes (zero-shot
            with ground-truth boxes). Defaults to False.
        objectness_score (str): How objectness enters the score when the
            RoI head passes it: 'sigmoid' (the probability) or 'logit'
            (the official RegionCLIP product with the raw logit,
            recovered from the probability in float64). Defaults to
            'sigmoid'.
        nms_backend (str): 'mmcv' or 'torchvision' (``test_cfg.nms`` must
            then be ``type='nms'``). Defaults to 'mmcv'.
        **kwargs: Other :class:`BBoxHead` arguments (``bbox_coder``,
            ``loss_cls``, ``loss_bbox``, ...).
    """

    def __init__(self,
                 embed_dim: int,
                 train_vocabulary: VocabularyLike = None,
                 test_vocabulary: VocabularyLike = None,
                 temperature: float = 0.01,
                 no_box_delta: bool = False,
                 objectness_score: str = 'sigmoid',
                 nms_backend: str = 'mmcv',
                 **kwargs) -> None:
        if objectness_score not in OBJECTNESS_SCORES:
            raise ValueError(
                f'RegionCLIPBBoxHead: objectness_score must be one of '
                f'{OBJECTNESS_SCORES}, got {objectness_score!r}')
        if nms_backend not in NMS_BACKENDS:
            raise ValueError(
                f'RegionCLIPBBoxHead: nms_backend must be one of '
                f'{NMS_BACKENDS}, got {nms_backend!r}')
        kwargs.setdefault('reg_class_agnostic', True)
        kwargs.setdefault(
            'loss_cls',
            dict(type='FocalScaledCrossEntropyLoss', gamma=0.5,
                 bg_weight=0.2))
        kwargs.setdefault('loss_bbox', dict(type='L1Loss', loss_weight=1.0))
        super().__init__(
            in_channels=embed_dim,
            roi_feat_size=1,
            num_classes=0,
            with_avg_pool=False,
            with_cls=False,
            **kwargs)
        self.no_box_delta = no_box_delta
        self.objectness_score = objectness_score
        self.nms_backend = nms_backend
        self.init_vocabularies(embed_dim, train_vocabulary, test_vocabulary,
                               temperature, 'RegionCLIPBBoxHead')

    def init_weights(self) -> None:
        """Initialise the box regressor; keep the vocabulary."""
        super().init_weights()
        self._activate()

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Classify and regress region embeddings.

        Args:
            x (Tensor): Region embeddings, shape (N, D).

        Returns:
            tuple[Tensor, Tensor]: logits (N, C + 1) with background last,
            and class-agnostic deltas (N, 4).
        """
        x = x.flatten(1)
        return self.classify(x), self.fc_reg(x)

    def predict_by_feat(self,
                        rois: Tuple[Tensor],
                        cls_scores: Tuple[Tensor],
                        bbox_preds: Tuple[Optional[Tensor]],
                        batch_img_metas: List[dict],
                        rcnn_test_cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        objectness: Optional[Sequence[Tensor]] = None
                        ) -> List[InstanceData]:
        """Turn per-proposal predictions into detections.

        Args:
            rois (tuple[Tensor]): Per image, (n, 5) rois (batch index, box).
            cls_scores (tuple[Tensor]): Per image, (n, C + 1) logits.
            bbox_preds (tuple[Tensor | None]): Per image, (n, 4) deltas.
            batch_img_metas (list[dict]): Image metas (``img_shape``,
                ``scale_factor``).
            rcnn_test_cfg (ConfigDict): ``score_thr``, ``nms``,
                ``max_per_img``.
            rescale (bool): Return boxes in original image coordinates.
            objectness (Sequence[Tensor], optional): Per image, (n,) RPN
                objectness probabilities; when given, scores are
                ``sqrt(p * objectness)``, or ``sqrt(p * logit(objectness))``
                with ``objectness_score='logit'`` (non-finite rows dropped).

        Returns:
            list[InstanceData]: ``bboxes`` (k, 4), ``scores`` (k,),
            ``labels`` (k,) per image.
        """
        results = []
        for i, meta in enumerate(batch_img_metas):
            probs = F.softmax(cls_scores[i], dim=-1)
            boxes, deltas = rois[i][:, 1:], bbox_preds[i]
            if objectness is not None:
                probs = torch.sqrt(probs * self._objectness(objectness[i]))
                finite = probs.isfinite().all(dim=1)
                if not finite.all():
                    probs, boxes = probs[finite], boxes[finite]
                    deltas = None if deltas is None else deltas[finite]
            if deltas is not None and not self.no_box_delta:
                boxes = self.bbox_coder.decode(
                    boxes, deltas, max_shape=meta['img_shape'])
            if rescale and boxes.numel():
                boxes = scale_boxes(boxes,
                                    [1 / s for s in meta['scale_factor']])
            det, labels = self._nms(boxes, probs, rcnn_test_cfg)
            results.append(
                InstanceData(
                    bboxes=det[:, :4], scores=det[:, -1], labels=labels))
        return results

    def _nms(self, boxes: Tensor, probs: Tensor,
             cfg: ConfigDict) -> Tuple[Tensor, Tensor]:
        """Per-class NMS of (n, 4) boxes with (n, C + 1) scores."""
        if self.nms_backend == 'mmcv':
            return multiclass_nms(boxes, probs, cfg.score_thr, cfg.nms,
                                  cfg.max_per_img)
        if cfg.nms.get('type', 'nms') != 'nms':
            raise ValueError(
                "RegionCLIPBBoxHead: nms_backend='torchvision' runs hard NMS "
                f"only; test_cfg.rcnn.nms is {dict(cfg.nms)}")
        return multiclass_nms_torchvision(boxes, probs, cfg.score_thr,
                                          cfg.nms.iou_threshold,
                                          cfg.max_per_img)

    def _objectness(self, probs: Tensor) -> Tensor:
        """(n,) objectness probabilities → the (n, 1) score factor."""
        if self.objectness_score == 'logit':
            return torch.logit(probs.double()).to(probs.dtype)[:, None]
        return probs[:, None]
