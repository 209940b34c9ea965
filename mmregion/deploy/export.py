"""Export mmregion detectors to ONNX with ``torch.onnx``.

MMDeploy does not fit this stack (see docs/deploy.md): the graphs are traced
with torch's TorchScript-based exporter (``dynamo=False``), after the
export-time swaps of :mod:`.swaps`, and the input contract is written into
the model's metadata (:mod:`.contract`).
"""
import logging
import os.path as osp
import tempfile
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.ops import ModulatedDeformConv2dPack
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import Tensor, nn

from .contract import build_contract, class_names, write_onnx
from .regionclip_graph import (
    RegionCLIPBoxesGraph,
    RegionCLIPRoIGraph,
    RegionCLIPRPNGraph,
    rpn_module,
)
from .swaps import ExportError, prepare_for_export
from .yolact_graph import YOLACTGraph

DEFAULT_OPSET = 17
DCN_OPSET = 19


def load_detector(config: Union[str, Config],
                  checkpoint: Optional[str] = None,
                  cfg_options: Optional[dict] = None) -> Tuple[Config,
                                                                nn.Module,
                                                                dict]:
    """Build a detector from its config and load its weights (CPU).

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint; None keeps what the config
            loads (e.g. a zero-shot RegionCLIP's CLIP backbone).
        cfg_options (dict, optional): Config overrides.

    Returns:
        tuple: The config, the model in eval mode and the checkpoint's
        ``meta`` (empty without a checkpoint).
    """
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint

    from ..apis.runner import load_config
    from ..engine.checkpoint_loader import install
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file {checkpoint} does not '
                                f'exist')
    cfg = config if isinstance(config, Config) else load_config(
        config, cfg_options)
    install()
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    meta = {}
    if checkpoint is None:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # mmengine logs every tensor
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    else:
        # mismatched keys are logged as warnings (mmengine's non-strict
        # load: official conversions carry extra keys)
        ckpt = load_checkpoint(
            model, checkpoint, map_location='cpu', logger='current')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    return cfg, model.eval(), meta


def detector_kind(model: nn.Module) -> str:
    """Which exporter handles a detector.

    Args:
        model (nn.Module): A detector.

    Returns:
        str: ``'yolact'``, ``'regionclip_gt'`` or ``'regionclip_rpn'``.

    Raises:
        ExportError: For other models, naming what is supported.
    """
    from ..models.dense_heads import BatchedYOLACTHead
    from ..models.dense_heads.batched_yolact_protonet import (
        BatchedYOLACTProtonet,
    )
    from ..models.detectors import RegionCLIP
    name = type(model).__name__
    if isinstance(getattr(model, 'bbox_head', None), BatchedYOLACTHead) and \
            isinstance(getattr(model, 'mask_head', None),
                       BatchedYOLACTProtonet):
        return 'yolact'
    if isinstance(model, RegionCLIP):
        if model.roi_head.with_mask:
            raise ExportError('RegionCLIP with a mask head is not exported '
                              '(boxes only)')
        if getattr(model.roi_head, 'quality_head', None) is not None:
            raise ExportError('RegionCLIP with a quality_head '
                              '(RegionQualityHead) is not exported: the RoI '
                              'graph has no quality output')
        return ('regionclip_gt'
                if model.proposal_source == 'gt' else 'regionclip_rpn')
    raise ExportError(
        f'{name} (bbox_head {type(getattr(model, "bbox_head", None)).__name__}'
        f') cannot be exported: supported are YOLACT with BatchedYOLACTHead/'
        f'OpenVocabYOLACTHead + BatchedYOLACTProtonet, and RegionCLIP')


def _export_vocabulary(cfg: Config, model: nn.Module, texts, clip_checkpoint,
                       templates) -> Optional[List[str]]:
    """Set the vocabulary ``texts`` on the model's open-vocabulary head.

    Returns:
        list[str] | None: The class names, or None without ``texts``.
    """
    if texts is None:
        return None
    from ..apis.inference import load_vocabulary, vocabulary_head
    head = vocabulary_head(model)
    vocab = load_vocabulary(cfg, texts, clip_checkpoint, templates)
    head.set_vocabulary(vocab.embeddings)
    return list(vocab.class_names)


def _trace(graph: nn.Module, args: Tuple[Tensor, ...], input_names: list,
           dynamic_axes: dict, opset: int, folder: str, name: str) -> str:
    """Trace ``graph`` into ``folder/name`` and return the path."""
    path = osp.join(folder, name)
    # eval before export: the exporter restores the mode it found, and a
    # wrapper built in train mode would put the detector in train mode
    graph.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # constant shapes are intended (fixed input size, top-k sizes); the
        # TorchScript-based exporter is chosen on purpose (docs/deploy.md)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(
            graph,
            args,
            path,
            dynamo=False,
            opset_version=opset,
            input_names=input_names,
            output_names=list(graph.output_names),
            dynamic_axes=dynamic_axes or None,
            do_constant_folding=True)
    return path


def _axes(names: Sequence[str], batch: bool, extra: dict) -> dict:
    """Dynamic axes: the batch axis of ``names`` (when dynamic) + extra."""
    axes = {n: {0: 'batch'} for n in names} if batch else {}
    for key, value in extra.items():
        axes.setdefault(key, {}).update(value)
    return axes


def export_onnx(config: Union[str, Config],
                checkpoint: Optional[str],
                out: str,
                texts: Union[str, Sequence[str], None] = None,
                batch_size: int = 1,
                dynamic_batch: bool = False,
                opset: Optional[int] = None,
                clip_checkpoint: Optional[str] = None,
                templates: Union[str, Sequence[str]] = 'regionclip',
                cfg_options: Optional[dict] = None) -> List[str]:
    """Export a YOLACT or RegionCLIP model to ONNX.

    Args:
        config (str | Config): The model's config.
        checkpoint (str, optional): Its weights (None: the config's own,
            e.g. a zero-shot RegionCLIP).
        out (str): Output ``.onnx`` file (RegionCLIP with an RPN also writes
            ``<out without .onnx>.roi.onnx``, the RoI stage).
        texts (str | Sequence[str], optional): A vocabulary for an
            open-vocabulary model (class names, a names file or a
            vocabulary ``.pth``), folded into the graph as a constant
            classifier; default: the config's test vocabulary.
        batch_size (int): Fixed batch size of the graph.
        dynamic_batch (bool): A dynamic batch axis instead.
        opset (int, optional): ONNX opset; default 17, or 19 for models
            with deformable convs (YOLACT++).
        clip_checkpoint (str, optional): Text-encoder CLIP weights for
            ``texts``.
        templates (str | Sequence[str]): Prompt templates for ``texts``.
        cfg_options (dict, optional): Config overrides.

    Returns:
        list[str]: The written files, the main graph first.

    Raises:
        ExportError: If the model (or its DCN at this opset:
            :class:`DCNExportError`) cannot be exported.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    cfg, model, meta = load_detector(config, checkpoint, cfg_options)
    kind = detector_kind(model)
    names = _export_vocabulary(cfg, model, texts, clip_checkpoint, templates)
    if names is None:
        names = class_names(cfg, model, meta)
    has_dcn = any(
        isinstance(m, ModulatedDeformConv2dPack) for m in model.modules())
    opset = opset or (DCN_OPSET if has_dcn else DEFAULT_OPSET)
    graph_model = prepare_for_export(model, opset)
    contract = build_contract(cfg, model, kind, names,
                              None if dynamic_batch else batch_size, opset)
    b = 2 if dynamic_batch else batch_size
    with tempfile.TemporaryDirectory() as tmp:
        if kind == 'yolact':
            h, w = contract['input_size']
            graph = YOLACTGraph(graph_model, (h, w))
            traced = [
                _trace(graph, (torch.randn(b, 3, h, w), ), ['img'],
                       _axes(['img'] + graph.output_names, dynamic_batch,
                             {}), opset, tmp, 'main.onnx')
            ]
            contract['outputs'] = graph.output_names
        else:
            traced, contract['outputs'] = _export_regionclip(
                graph_model, kind, b, dynamic_batch, opset, tmp)
        files = [out]
        if len(traced) == 2:
            roi_out = osp.splitext(out)[0] + '.roi.onnx'
            contract['roi_graph'] = osp.basename(roi_out)
            write_onnx(traced[1], roi_out, dict(contract, stage='roi'))
            files.append(roi_out)
        write_onnx(traced[0], out, contract)
    return files


def _export_regionclip(model: nn.Module, kind: str, b: int,
                       dynamic_batch: bool, opset: int,
                       folder: str) -> Tuple[List[str], List[str]]:
    """Trace RegionCLIP's graph(s) into ``folder``.

    Args:
        model (nn.Module): The prepared detector copy.
        kind (str): ``'regionclip_gt'`` or ``'regionclip_rpn'``.
        b (int): Batch size of the example input.
        dynamic_batch (bool): Dynamic batch axis.
        opset (int): ONNX opset.
        folder (str): Output folder.

    Returns:
        tuple[list[str], list[str]]: One file (GT mode) or two (RPN, RoI
        stage), and the main graph's output names.
    """
    size = 64 * 4
    img = torch.randn(b, 3, size, size)
    hw = {2: 'height', 3: 'width'}
    if kind == 'regionclip_gt':
        xy = torch.rand(b, 5, 2) * size / 2
        boxes = torch.cat([xy, xy + size / 4], -1)
        graph = RegionCLIPBoxesGraph(model)
        axes = _axes(['img', 'boxes'] + graph.output_names, dynamic_batch,
                     dict(img=hw, boxes={1: 'num_boxes'},
                          **{n: {1: 'num_boxes'}
                             for n in graph.output_names}))
        return [
            _trace(graph, (img, boxes), ['img', 'boxes'], axes, opset,
                   folder, 'main.onnx')
        ], graph.output_names
    num_levels = rpn_module(model).prior_generator.num_levels
    graph = RegionCLIPRPNGraph(model, num_levels)
    axes = _axes(['img'] + graph.output_names, dynamic_batch,
                 dict(img=hw, **{n: hw for n in graph.output_names}))
    main = _trace(graph, (img, ), ['img'], axes, opset, folder, 'main.onnx')
    with torch.no_grad():
        res4 = model.extract_feat(img)[0]
    roi = RegionCLIPRoIGraph(model)
    rois = torch.tensor([[0., 8., 8., 120., 100.], [b - 1, 30., 20., 90.,
                                                    200.]])
    roi_axes = dict(res4={0: 'batch', 2: 'height', 3: 'width'},
                    rois={0: 'num_rois'},
                    **{n: {0: 'num_rois'} for n in roi.output_names})
    return [
        main,
        _trace(roi, (res4, rois), ['res4', 'rois'], roi_axes, opset, folder,
               'roi.onnx')
    ], graph.output_names
