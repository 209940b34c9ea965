"""The input contract of an exported model, kept in its ONNX metadata.

``metadata_props`` of every exported file hold readable keys for any ONNX
consumer (``input_size``, ``mean``, ``std``, ``channel_order``,
``class_names``, ``batch_size``) and ``mmregion.contract``: the same and
everything the runner needs (test pipeline, data preprocessor, the
post-processing settings and head configs) as one JSON object.
"""
import json
from typing import Any, List, Optional, Tuple

from mmengine.config import Config, ConfigDict
from torch import nn

from ..fileio import atomic_open

CONTRACT_KEY = 'mmregion.contract'
FORMAT = 'mmregion.onnx.v1'
VOCAB_KEYS = ('train_vocabulary', 'test_vocabulary')


def plain(obj: Any) -> Any:
    """``obj`` with configs as dicts and tuples as lists (JSON-ready)."""
    if isinstance(obj, (ConfigDict, dict)):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if hasattr(obj, 'tolist'):
        return obj.tolist()
    return obj


def test_pipeline(cfg: Config) -> list:
    """The test pipeline of a config (``test_dataloader`` first)."""
    loader = cfg.get('test_dataloader')
    if loader is not None and 'pipeline' in loader.get('dataset', {}):
        return plain(loader.dataset.pipeline)
    if cfg.get('test_pipeline') is not None:
        return plain(cfg.test_pipeline)
    raise ValueError('the config has no test pipeline (test_dataloader.'
                     'dataset.pipeline or test_pipeline)')


def fixed_input_size(pipeline: list) -> Tuple[int, int]:
    """The (H, W) every image is resized to, for fixed-size graphs.

    Args:
        pipeline (list[dict]): A test pipeline.

    Returns:
        tuple[int, int]: Height and width.

    Raises:
        ValueError: If there is no ``Resize`` with ``keep_ratio=False``.
    """
    for t in pipeline:
        if t['type'].split('.')[-1] == 'Resize':
            if t.get('keep_ratio', False):
                break
            scale = t['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return int(h), int(w)
    raise ValueError('YOLACT export needs a test pipeline Resize with '
                     'keep_ratio=False (the anchors are constants of one '
                     'input size)')


def class_names(cfg: Config, model: nn.Module, meta: dict) -> List[str]:
    """Class names: the checkpoint's ``dataset_meta``, else the test
    dataset's ``METAINFO`` when its size matches, else ``class_<i>``.

    Args:
        cfg (Config): The model's config.
        model (nn.Module): The detector (its number of classes).
        meta (dict): The checkpoint's ``meta``.

    Returns:
        list[str]: One name per class.
    """
    from mmdet.registry import DATASETS
    head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    num = (head or model.bbox_head).num_classes
    names = (meta.get('dataset_meta') or {}).get('classes')
    if names is None:
        try:
            dataset = DATASETS.get(cfg.test_dataloader.dataset.type)
            names = dataset.METAINFO['classes']
        except (AttributeError, KeyError, TypeError):
            names = None
    if names is None or len(names) != num:
        names = [f'class_{i}' for i in range(num)]
    return list(names)


def build_contract(cfg: Config, model: nn.Module, kind: str,
                   names: List[str], batch_size: Optional[int],
                   opset: int) -> dict:
    """The contract of an export.

    Args:
        cfg (Config): The model's config.
        model (nn.Module): The detector.
        kind (str): ``'yolact'``, ``'regionclip_gt'`` or
            ``'regionclip_rpn'``.
        names (list[str]): Class names.
        batch_size (int, optional): Fixed batch size (None: dynamic).
        opset (int): ONNX opset.

    Returns:
        dict: JSON-ready contract.
    """
    pre = plain(cfg.model.data_preprocessor)
    pipeline = test_pipeline(cfg)
    contract = dict(
        format=FORMAT, kind=kind, opset=opset, batch_size=batch_size,
        class_names=names, mean=pre.get('mean'), std=pre.get('std'),
        channel_order='rgb' if pre.get('bgr_to_rgb') else 'bgr',
        data_preprocessor=pre, test_pipeline=pipeline)
    if kind == 'yolact':
        contract.update(
            input_size=list(fixed_input_size(pipeline)),
            mask_thr=float(model.mask_head.test_cfg.mask_thr))
        return contract
    from .regionclip_graph import rpn_module
    bbox_head = {
        k: v
        for k, v in plain(cfg.model.roi_head.bbox_head).items()
        if k not in VOCAB_KEYS
    }
    contract.update(
        input_size=None, bbox_head=bbox_head,
        rcnn_test_cfg=plain(model.roi_head.test_cfg),
        use_objectness=bool(model.roi_head.use_objectness))
    if kind == 'regionclip_rpn':
        head_cfg = (cfg.model.rpn_head if model.proposal_source == 'rpn'
                    else cfg.model.offline_rpn.rpn_head)
        contract.update(
            rpn_head=plain(head_cfg),
            rpn_test_cfg=plain(rpn_module(model).test_cfg))
    return contract


def write_onnx(src: str, dst: str, contract: dict) -> None:
    """Copy an ONNX file with the contract in its metadata, atomically.

    Args:
        src (str): The traced file.
        dst (str): The output file.
        contract (dict): The contract.
    """
    import onnx
    proto = onnx.load(src)
    flat = dict(
        input_size=contract.get('input_size'), mean=contract['mean'],
        std=contract['std'], channel_order=contract['channel_order'],
        class_names=contract['class_names'],
        batch_size=contract['batch_size'])
    del proto.metadata_props[:]
    for key, value in flat.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    entry = proto.metadata_props.add()
    entry.key, entry.value = CONTRACT_KEY, json.dumps(contract)
    with atomic_open(dst, 'wb') as f:
        f.write(proto.SerializeToString())


def read_contract(metadata: dict, where: str) -> dict:
    """The contract from an ONNX file's metadata map.

    Args:
        metadata (dict): ``metadata_props`` as a dict (onnxruntime's
            ``get_modelmeta().custom_metadata_map``).
        where (str): The file, for the error message.

    Returns:
        dict: The contract.

    Raises:
        ValueError: If the file was not exported by mmregion.
    """
    if CONTRACT_KEY not in metadata:
        raise ValueError(f'{where}: no {CONTRACT_KEY} metadata; export the '
                         f'model with tools/deployment/export_onnx.py')
    contract = json.loads(metadata[CONTRACT_KEY])
    if contract.get('format') != FORMAT:
        raise ValueError(f'{where}: contract format '
                         f'{contract.get("format")!r}, expected {FORMAT!r}')
    return contract
