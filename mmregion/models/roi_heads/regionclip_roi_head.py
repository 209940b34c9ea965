"""RegionCLIP's RoI head: RoIAlign on res4 → the backbone's res5 → attnpool
(→ an optional class-agnostic mask head on the res5 maps)."""
from typing import Callable, List, Optional, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.utils import ConfigType, InstanceList, OptConfigType
from torch import Tensor
from torch.nn.modules.utils import _pair


@MODELS.register_module()
class RegionCLIPRoIHead(StandardRoIHead):
    """mmdet's :class:`StandardRoIHead` wired to a CLIP backbone's region path.

    Region features are RoIAligned from the stride-16 res4 map (the config's
    ``bbox_roi_extractor``: ``RoIAlign(output_size=14 (RN50) / 18 (RN50x4),
    sampling_ratio=0, aligned=True)``), run through the *backbone's own* res5
    stage (``CLIPResNet.res5_regions``: mmdet's ``shared_head`` of the C4
    layout) and attention-pooled (``CLIPResNet.embed_res5``: the part
    mmdet's C4 box head does by average pooling) into the region embeddings
    the box head classifies. The weights stay under ``backbone.*`` as in
    RegionCLIP checkpoints; the detector hands both functions over with
    :meth:`set_region_encoder`.

    With a ``mask_head`` (RegionCLIP's LVIS models: mmdet's ``FCNMaskHead``
    with ``num_convs=0``, ``class_agnostic=True``, ``in_channels`` = res5
    channels, and no ``mask_roi_extractor``), masks are predicted from the
    res5 maps before attention pooling, as in mmdet's C4 Mask R-CNN: in
    training the positive RoIs' res5 maps of the box path are reused (res5
    runs once); at test time res5 runs again on the final boxes. Masks must
    be class-agnostic: the test vocabulary is not the training one.

    At test time the proposals' objectness (``scores`` of RPN results) is
    passed to the box head when ``use_objectness=True`` and the proposals
    have one (ground-truth boxes as proposals have none). With a
    ``quality_head`` (:class:`RegionQualityHead`), the objectness is first
    multiplied by the predicted localization quality of each proposal
    (raised to the head's ``score_power``); the
    head learns from the training boxes on the res4 RoI features, detached.

    Args:
        use_objectness (bool): Combine class probabilities with proposal
            objectness at test time. Defaults to False.
        quality_head (dict, optional): A class-agnostic quality head config
            (needs ``use_objectness``). Defaults to None.
        **kwargs: :class:`StandardRoIHead` arguments (``bbox_roi_extractor``,
            ``bbox_head``, ``mask_roi_extractor``, ``mask_head``,
            ``train_cfg`` with ``mask_size`` for masks, ``test_cfg`` with
            ``mask_thr_binary``).
    """

    def __init__(self,
                 *args,
                 use_objectness: bool = False,
                 quality_head: OptConfigType = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if quality_head is not None and not use_objectness:
            raise ValueError(
                'RegionCLIPRoIHead: quality_head multiplies the objectness; '
                'it needs use_objectness=True')
        if quality_head is not None and getattr(
                self.bbox_head, 'objectness_score', 'sigmoid') != 'sigmoid':
            raise ValueError(
                "RegionCLIPRoIHead: quality_head needs the box head's "
                "objectness_score='sigmoid' (a probability to multiply)")
        self.quality_head = None if quality_head is None else MODELS.build(
            quality_head)
        if self.quality_head is not None:
            extract = self.bbox_roi_extractor
            want = (extract.out_channels,
                    tuple(_pair(extract.roi_layers[0].output_size)))
            got = (self.quality_head.in_channels,
                   tuple(_pair(self.quality_head.roi_size)))
            if want != got:
                raise ValueError(
                    f'RegionCLIPRoIHead: quality_head reads the '
                    f'bbox_roi_extractor\'s RoI features, {want[0]} channels '
                    f'at {want[1]}; got in_channels={got[0]}, roi_size='
                    f'{got[1]}')
        if self.with_mask and not getattr(self.mask_head, 'class_agnostic',
                                          False):
            name = type(self.mask_head).__name__
            raise ValueError(
                f'RegionCLIPRoIHead: mask_head ({name}) must be '
                f'class-agnostic (class_agnostic=True): its classes would be '
                f'the training vocabulary, which differs from the test '
                f'vocabulary')
        self.use_objectness = use_objectness
        self._res5: Optional[Callable[[Tensor], Tensor]] = None
        self._embed: Optional[Callable[[Tensor], Tensor]] = None

    def set_region_encoder(self, res5: Callable[[Tensor], Tensor],
                           embed: Callable[[Tensor], Tensor]) -> None:
        """Set the functions that turn RoI features into region embeddings.

        Args:
            res5 (Callable): (N, C4, P, P) RoI features → (N, C5, P / 2,
                P / 2) res5 maps (``CLIPResNet.res5_regions``).
            embed (Callable): res5 maps → (N, D) region embeddings
                (``CLIPResNet.embed_res5``).
        """
        self._res5, self._embed = res5, embed

    @property
    def shared_head(self) -> Callable[[Tensor], Tensor]:
        """The backbone's res5 on RoI features, mmdet's C4 ``shared_head``."""
        if self._res5 is None:
            raise RuntimeError(
                'RegionCLIPRoIHead has no region encoder: build it inside a '
                'RegionCLIP detector, or call set_region_encoder('
                'backbone.res5_regions, backbone.embed_res5)')
        return self._res5

    def _bbox_forward(self, x: Tuple[Tensor], rois: Tensor) -> dict:
        """Classify and regress RoIs.

        Args:
            x (tuple[Tensor]): Backbone maps; ``x[0]`` is res4.
            rois (Tensor): (n, 5) RoIs (batch index, x1, y1, x2, y2).

        Returns:
            dict[str, Tensor]: ``cls_score`` (n, C + 1), ``bbox_pred`` (n, 4),
            ``bbox_feats``, the res5 maps (n, C5, g, g) that mmdet's mask
            loss reuses for the positive RoIs, and ``roi_feats`` (n, C4, P,
            P).
        """
        roi_feats = self.bbox_roi_extractor(
            x[:self.bbox_roi_extractor.num_inputs], rois)
        res5_feats = self.shared_head(roi_feats)
        cls_score, bbox_pred = self.bbox_head(self._embed(res5_feats))
        return dict(
            cls_score=cls_score,
            bbox_pred=bbox_pred,
            bbox_feats=res5_feats,
            roi_feats=roi_feats)

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """mmdet's RoI losses, and the quality head's when there is one.

        Args:
            x (tuple[Tensor]): Backbone maps; ``x[0]`` is res4.
            rpn_results_list (list[InstanceData]): Proposals (``bboxes``).
            batch_data_samples (list[DetDataSample]): With ``gt_instances``.

        Returns:
            dict[str, Tensor]: Losses (``loss_quality`` with a quality head).
        """
        losses = super().loss(x, rpn_results_list, batch_data_samples)
        if self.quality_head is None:
            return losses
        # mmdet's loss renamed the proposals' ``bboxes`` to ``priors``
        priors = [res.priors for res in rpn_results_list]
        gts = [
            get_box_tensor(s.gt_instances.bboxes) for s in batch_data_samples
        ]
        boxes, target = self.quality_head.sample(priors, gts)
        rois = bbox2roi(boxes)
        losses.update(
            self.quality_head.loss(self._quality(x, rois), target))
        return losses

    def _quality(self, x: Tuple[Tensor], rois: Tensor,
                 roi_feats: Optional[Tensor] = None) -> Tensor:
        """(n,) quality of (n, 5) RoIs (their res4 RoI features may be
        given), with the enlarged boxes' features for a context head."""
        extract = self.bbox_roi_extractor
        feats = x[:extract.num_inputs]
        if roi_feats is None:
            roi_feats = extract(feats, rois)
        scale = self.quality_head.context_scale
        if scale:
            roi_feats = torch.cat(
                [roi_feats, extract(feats, extract.roi_rescale(rois, scale))],
                dim=1)
        return self.quality_head(roi_feats)

    def predict_bbox(self,
                     x: Tuple[Tensor],
                     batch_img_metas: List[dict],
                     rpn_results_list: InstanceList,
                     rcnn_test_cfg: ConfigType,
                     rescale: bool = False) -> InstanceList:
        """Detect from proposals (:meth:`RegionCLIPBBoxHead.predict_by_feat`).

        Args:
            x (tuple[Tensor]): Backbone maps; ``x[0]`` is res4.
            batch_img_metas (list[dict]): Image metas.
            rpn_results_list (list[InstanceData]): Proposals (``bboxes``,
                and ``scores`` when ``use_objectness``).
            rcnn_test_cfg (ConfigDict): Test settings.
            rescale (bool): Boxes in original image coordinates.

        Returns:
            list[InstanceData]: Detections per image.
        """
        proposals = [res.bboxes for res in rpn_results_list]
        counts = [len(p) for p in proposals]
        rois = bbox2roi(proposals)
        if rois.shape[0] == 0:
            return empty_instances(
                batch_img_metas,
                rois.device,
                task_type='bbox',
                num_classes=self.bbox_head.num_classes)
        results = self._bbox_forward(x, rois)
        objectness = None
        if self.use_objectness and all('scores' in res
                                       for res in rpn_results_list):
            objectness = [res.scores for res in rpn_results_list]
            if self.quality_head is not None:
                quality = self._quality(x, rois,
                                        results['roi_feats']).split(counts)
                power = self.quality_head.score_power
                objectness = [
                    o * q.pow(power) for o, q in zip(objectness, quality)
                ]
        return self.bbox_head.predict_by_feat(
            rois=rois.split(counts),
            cls_scores=results['cls_score'].split(counts),
            bbox_preds=results['bbox_pred'].split(counts),
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale,
            objectness=objectness)
