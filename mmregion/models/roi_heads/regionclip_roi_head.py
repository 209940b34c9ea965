"""RegionCLIP's RoI head: RoIAlign on res4 → the backbone's res5 → attnpool
(→ an optional class-agnostic mask head on the res5 maps)."""
from typing import Callable, List, Optional, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import empty_instances
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor


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
    have one (ground-truth boxes as proposals have none).

    Args:
        use_objectness (bool): Combine class probabilities with proposal
            objectness at test time. Defaults to False.
        **kwargs: :class:`StandardRoIHead` arguments (``bbox_roi_extractor``,
            ``bbox_head``, ``mask_roi_extractor``, ``mask_head``,
            ``train_cfg`` with ``mask_size`` for masks, ``test_cfg`` with
            ``mask_thr_binary``).
    """

    def __init__(self, *args, use_objectness: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
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
            dict[str, Tensor]: ``cls_score`` (n, C + 1), ``bbox_pred`` (n, 4)
            and ``bbox_feats``, the res5 maps (n, C5, g, g) that mmdet's
            mask loss reuses for the positive RoIs.
        """
        roi_feats = self.bbox_roi_extractor(
            x[:self.bbox_roi_extractor.num_inputs], rois)
        res5_feats = self.shared_head(roi_feats)
        cls_score, bbox_pred = self.bbox_head(self._embed(res5_feats))
        return dict(
            cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=res5_feats)

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
        return self.bbox_head.predict_by_feat(
            rois=rois.split(counts),
            cls_scores=results['cls_score'].split(counts),
            bbox_preds=results['bbox_pred'].split(counts),
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale,
            objectness=objectness)
