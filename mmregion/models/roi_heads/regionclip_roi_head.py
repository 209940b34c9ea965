"""RegionCLIP's RoI head: RoIAlign on res4 → the backbone's res5 → attnpool."""
from typing import Callable, List, Optional, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from mmdet.models.utils import empty_instances
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor


@MODELS.register_module()
class RegionCLIPRoIHead(StandardRoIHead):
    """mmdet's :class:`StandardRoIHead` wired to a CLIP backbone's region path.

    Region features are RoIAligned from the stride-16 res4 map (the config's
    ``bbox_roi_extractor``: ``RoIAlign(output_size=14 (RN50) / 18 (RN50x4),
    sampling_ratio=0, aligned=True)``) and encoded by the *backbone's own*
    res5 stage and attention pool (``CLIPResNet.pool_regions``), so the
    weights stay under ``backbone.*`` as in RegionCLIP checkpoints. The
    detector hands that function over with :meth:`set_region_encoder`; it
    plays the part of mmdet's ``shared_head``.

    At test time the proposals' objectness (``scores`` of RPN results) is
    passed to the box head when ``use_objectness=True``.

    Args:
        use_objectness (bool): Combine class probabilities with proposal
            objectness at test time. Defaults to False.
        **kwargs: :class:`StandardRoIHead` arguments.
    """

    def __init__(self, *args, use_objectness: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.use_objectness = use_objectness
        self._region_encoder: Optional[Callable[[Tensor], Tensor]] = None

    def set_region_encoder(self, encoder: Callable[[Tensor], Tensor]) -> None:
        """Set the function that turns RoI features into region embeddings.

        Args:
            encoder (Callable): (N, C4, P, P) RoI features → (N, D).
        """
        self._region_encoder = encoder

    @property
    def shared_head(self) -> Callable[[Tensor], Tensor]:
        """The region encoder, used where mmdet runs a ``shared_head``."""
        if self._region_encoder is None:
            raise RuntimeError(
                'RegionCLIPRoIHead has no region encoder: build it inside a '
                'RegionCLIP detector, or call set_region_encoder('
                'backbone.pool_regions)')
        return self._region_encoder

    def predict_bbox(self,
                     x: Tuple[Tensor],
                     batch_img_metas: List[dict],
                     rpn_results_list: InstanceList,
                     rcnn_test_cfg: ConfigType,
                     rescale: bool = False) -> InstanceList:
        """Detect from proposals (see :meth:`RegionCLIPBBoxHead.predict_by_feat`).

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
        if self.use_objectness:
            objectness = [res.scores for res in rpn_results_list]
        return self.bbox_head.predict_by_feat(
            rois=rois.split(counts),
            cls_scores=results['cls_score'].split(counts),
            bbox_preds=results['bbox_pred'].split(counts),
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale,
            objectness=objectness)
