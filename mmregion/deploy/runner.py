"""Run an exported model with onnxruntime and return mmdet results.

:class:`ONNXDetector` reads the contract from the file's metadata, runs the
graph(s) and finishes with the Python functions the PyTorch model uses
(mask upsampling, RPN proposal selection, RegionCLIP's box post-processing),
so it returns the same ``DetDataSample`` results as the PyTorch model.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmdet.models.utils import empty_instances
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..models.dense_heads.batched_yolact_protonet import (
    BatchedYOLACTProtonet,
    pad_instances,
)
from ..models.detectors.regionclip import RegionCLIP
from ..models.layers.mask_upsample import upsample_cropped_masks
from .contract import read_contract

ImageLike = Union[str, np.ndarray]


def _session(path: str, providers: Optional[Sequence[str]],
             num_threads: Optional[int]):
    """An onnxruntime session of ``path``."""
    import onnxruntime as ort
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX file {path} does not exist')
    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = num_threads
    return ort.InferenceSession(
        path, options, providers=list(providers or ['CPUExecutionProvider']))


class ONNXDetector:
    """An exported mmregion model behind a PyTorch-like ``predict``.

    Args:
        path (str): The ``.onnx`` file of ``tools/deployment/export_onnx.py``
            (RegionCLIP with an RPN: its RoI graph is found beside it).
        providers (Sequence[str], optional): onnxruntime execution
            providers. Defaults to CPU.
        num_threads (int, optional): Intra-op threads (default: ORT's).
    """

    def __init__(self,
                 path: str,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        import mmregion.models  # noqa: F401  (registers the heads)
        self.session = _session(path, providers, num_threads)
        self.contract = read_contract(
            self.session.get_modelmeta().custom_metadata_map, path)
        if self.contract.get('stage') == 'roi':
            raise ValueError(f'{path} is the RoI stage of an exported '
                             'RegionCLIP; load the main .onnx file beside it')
        self.kind = self.contract['kind']
        self.output_names = self.contract['outputs']
        self.dataset_meta = dict(
            classes=tuple(self.contract['class_names']), palette='random')
        self.roi_session = None
        if self.contract.get('roi_graph'):
            self.roi_session = _session(
                osp.join(osp.dirname(path), self.contract['roi_graph']),
                providers, num_threads)
        if self.kind != 'yolact':
            self._build_heads()

    def _build_heads(self) -> None:
        """RegionCLIP's box head and RPN head, for their post-processing
        (their weights are not used)."""
        from mmdet.registry import MODELS
        from mmengine.registry import DefaultScope
        c = self.contract
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.bbox_head = MODELS.build(ConfigDict(c['bbox_head']))
            self.rpn_head = None
            if self.kind == 'regionclip_rpn':
                self.rpn_head = MODELS.build(
                    ConfigDict(c['rpn_head'],
                               test_cfg=ConfigDict(c['rpn_test_cfg'])))
        self.rcnn_test_cfg = ConfigDict(c['rcnn_test_cfg'])

    def run(self, feeds: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Run the main graph; batches of a fixed-batch graph are split
        and the last one zero-padded.

        Args:
            feeds (dict[str, Tensor]): Inputs by name, batch first.

        Returns:
            dict[str, Tensor]: Outputs by name, batch first.
        """
        fixed = self.contract['batch_size']
        b = len(next(iter(feeds.values())))
        step = fixed or b
        chunks = []
        for start in range(0, b, step):
            part = {k: v[start:start + step].cpu().numpy()
                    for k, v in feeds.items()}
            if fixed and len(next(iter(part.values()))) < fixed:
                part = {
                    k: np.concatenate(
                        [v, np.zeros((fixed - len(v), ) + v.shape[1:],
                                     v.dtype)]) for k, v in part.items()
                }
            chunks.append(self.session.run(self.output_names, part))
        return {
            name: torch.from_numpy(
                np.concatenate([c[i] for c in chunks])[:b])
            for i, name in enumerate(self.output_names)
        }

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Detect, as the PyTorch model's ``predict``.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) preprocessed images.
            batch_data_samples (list[DetDataSample]): Metas (and, for
                RegionCLIP with given boxes, ``gt_instances.bboxes`` in
                original image coordinates).
            rescale (bool): Results in original image coordinates.

        Returns:
            list[DetDataSample]: The samples with ``pred_instances``.
        """
        metas = [s.metainfo for s in batch_data_samples]
        if self.kind == 'yolact':
            results = self._predict_yolact(batch_inputs, metas, rescale)
        elif self.kind == 'regionclip_gt':
            results = self._predict_boxes(batch_inputs, batch_data_samples,
                                          rescale)
        else:
            results = self._predict_rpn(batch_inputs, metas, rescale)
        for sample, result in zip(batch_data_samples, results):
            sample.pred_instances = result
        return batch_data_samples

    def _predict_yolact(self, inputs: Tensor, metas: List[dict],
                        rescale: bool) -> List[InstanceData]:
        """YOLACT: the graph's padded detections, then mask upsampling and
        box rescaling as ``BatchedYOLACTProtonet.predict_by_feat``."""
        size = tuple(self.contract['input_size'])
        if tuple(inputs.shape[-2:]) != size:
            raise ValueError(f'the model was exported for {list(size)} '
                             f'inputs, got {list(inputs.shape[-2:])}')
        outs = self.run(dict(img=inputs))
        fields = ['bboxes', 'scores', 'labels', 'coeffs'] + (
            ['mask_scores'] if 'mask_scores' in outs else [])
        results = []
        for i, meta in enumerate(metas):
            n = int(outs['num_dets'][i])
            res = InstanceData(**{k: outs[k][i, :n] for k in fields})
            if n == 0:
                results.append(
                    empty_instances([meta], inputs.device, task_type='mask',
                                    instance_results=[res])[0])
                continue
            res.masks = upsample_cropped_masks(
                outs['masks'][i], outs['windows'][i, :n],
                BatchedYOLACTProtonet._output_size(meta, rescale),
                self.contract['mask_thr'], torch.arange(n))
            if rescale:
                res.bboxes = res.bboxes / res.bboxes.new_tensor(
                    meta['scale_factor']).repeat(1, 2)
            results.append(res)
        return results

    def _predict_boxes(self, inputs: Tensor, samples: SampleList,
                       rescale: bool) -> List[InstanceData]:
        """RegionCLIP with given boxes: the graph scores them, the box head
        post-processes (as ``RegionCLIPRoIHead.predict_bbox``)."""
        proposals = RegionCLIP._gt_proposals(samples, test_mode=True)
        metas = [s.metainfo for s in samples]
        counts = [len(p) for p in proposals]
        if sum(counts) == 0:
            return self._empty(metas, inputs.device)
        boxes = pad_instances([p.bboxes.float() for p in proposals])
        outs = self.run(dict(img=inputs, boxes=boxes))
        return self._boxes_to_results(
            proposals, [outs['logits'][i, :n] for i, n in enumerate(counts)],
            [outs['deltas'][i, :n] for i, n in enumerate(counts)], metas,
            rescale)

    def _predict_rpn(self, inputs: Tensor, metas: List[dict],
                     rescale: bool) -> List[InstanceData]:
        """RegionCLIP with an RPN: raw RPN maps from the first graph,
        mmdet's proposal selection, the RoI graph, the box head's
        post-processing."""
        outs = self.run(dict(img=inputs))
        levels = (len(outs) - 1) // 2
        proposals = self.rpn_head.predict_by_feat(
            [outs[f'rpn_cls_{i}'] for i in range(levels)],
            [outs[f'rpn_reg_{i}'] for i in range(levels)],
            batch_img_metas=metas,
            rescale=False)
        counts = [len(p) for p in proposals]
        rois = bbox2roi([p.bboxes for p in proposals])
        if rois.shape[0] == 0:
            return self._empty(metas, inputs.device)
        cls_score, bbox_pred = (
            torch.from_numpy(a) for a in self.roi_session.run(
                ['cls_score', 'bbox_pred'],
                dict(res4=outs['res4'].numpy(), rois=rois.numpy())))
        return self._boxes_to_results(proposals, cls_score.split(counts),
                                      bbox_pred.split(counts), metas,
                                      rescale)

    def _boxes_to_results(self, proposals: List[InstanceData],
                          logits: Sequence[Tensor], deltas: Sequence[Tensor],
                          metas: List[dict],
                          rescale: bool) -> List[InstanceData]:
        """``RegionCLIPBBoxHead.predict_by_feat`` on per-image outputs."""
        counts = [len(p) for p in proposals]
        rois = bbox2roi([p.bboxes for p in proposals]).split(counts)
        # ground-truth boxes as proposals carry no objectness (as in
        # RegionCLIPRoIHead)
        objectness = ([p.scores for p in proposals]
                      if self.contract['use_objectness'] and all(
                          'scores' in p for p in proposals) else None)
        return self.bbox_head.predict_by_feat(
            rois=rois,
            cls_scores=tuple(logits),
            bbox_preds=tuple(deltas),
            batch_img_metas=metas,
            rcnn_test_cfg=self.rcnn_test_cfg,
            rescale=rescale,
            objectness=objectness)

    def _empty(self, metas: List[dict], device) -> List[InstanceData]:
        """No proposals anywhere: empty results, as the PyTorch head."""
        return empty_instances(
            metas, device, task_type='bbox',
            num_classes=len(self.contract['class_names']))

    def __call__(self,
                 images: Sequence[ImageLike],
                 boxes: Optional[Sequence[np.ndarray]] = None
                 ) -> SampleList:
        """Detect in images (files or BGR arrays), preprocessed with the
        exported test pipeline and data preprocessor.

        Args:
            images (Sequence[str | np.ndarray]): Images.
            boxes (Sequence[np.ndarray], optional): Per image (n, 4) boxes
                in original image pixels (RegionCLIP with given boxes only).

        Returns:
            list[DetDataSample]: Results in original image coordinates.
        """
        if (boxes is None) == (self.kind == 'regionclip_gt'):
            raise ValueError(
                'boxes are needed exactly for a RegionCLIP model exported '
                f'with given boxes (this one: {self.kind})')
        batch = self.preprocess(images)
        samples = batch['data_samples']
        if boxes is not None:
            for sample, image_boxes in zip(samples, boxes):
                sample.gt_instances = InstanceData(
                    bboxes=torch.as_tensor(image_boxes,
                                           dtype=torch.float32).view(-1, 4))
        return self.predict(batch['inputs'], samples)

    def preprocess(self, images: Sequence[ImageLike]) -> dict:
        """Images through the exported test pipeline and preprocessor.

        Args:
            images (Sequence[str | np.ndarray]): Files or BGR arrays.

        Returns:
            dict: ``inputs`` (B, 3, H, W) and ``data_samples``.
        """
        from mmcv.transforms import Compose
        from mmdet.registry import MODELS
        from mmengine.registry import DefaultScope
        steps = [
            t for t in self.contract['test_pipeline']
            if not t['type'].endswith('LoadAnnotations')
        ]
        items = []
        with DefaultScope.overwrite_default_scope('mmdet'):
            for image in images:
                if isinstance(image, np.ndarray):
                    steps[0] = dict(type='mmdet.LoadImageFromNDArray')
                    items.append(Compose(steps)(dict(img=image)))
                else:
                    items.append(Compose(steps)(dict(img_path=image)))
            preprocessor = MODELS.build(self.contract['data_preprocessor'])
        return preprocessor(
            dict(inputs=[d['inputs'] for d in items],
                 data_samples=[d['data_samples'] for d in items]), False)


def load_onnx_detector(path: str, **kwargs) -> ONNXDetector:
    """Load an exported model (see :class:`ONNXDetector`).

    Args:
        path (str): The ``.onnx`` file.
        **kwargs: :class:`ONNXDetector` arguments.

    Returns:
        ONNXDetector: The runner.
    """
    return ONNXDetector(path, **kwargs)


__all__ = ['ONNXDetector', 'load_onnx_detector']
