"""microsoft/RegionCLIP (a detectron2 fork) on a CPU, without compiling it.

Nothing of RegionCLIP is copied here: :func:`regionclip_code` imports the
user's clone through :func:`~.official.official_code` and adds what that
fork needs at run time, each noted in the report:

* ``detectron2._C`` (the compiled extension) is a module whose ops raise:
  RegionCLIP's CLIPFastRCNN uses torchvision's ``roi_align`` and
  ``batched_nms`` (detectron2's ``ROIAlign`` / ``batched_nms`` wrap them);
  only rotated boxes, deformable convs and the C++ COCO evaluator need
  ``_C``, and none of them run here;
* ``torch.ops.detectron2.nms_rotated`` is declared (read at import);
* ``diffdist`` (multi-GPU gathering, imported by ``detectron2.utils.comm``)
  is an empty module;
* ``numpy.lib.pad`` (gone in numpy 2; ``clip_rcnn.py`` imports it) is
  ``numpy.pad``.

The pure-python dependencies (fvcore, iopath, yacs, ...) come from a folder
given by ``MMREGION_OFFICIAL_PYDEPS`` or ``<official>/../pydeps``
(docs/parity.md: ``pip install --target``).
"""
import os
import os.path as osp
import sys
import types
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

from .official import OfficialCode, OfficialCodeError, official_code

MARKERS = ('detectron2/modeling/meta_arch/clip_rcnn.py',
           'configs/COCO-InstanceSegmentation/CLIP_fast_rcnn_R_50_C4_ovd.yaml')
PROJECT = 'microsoft/RegionCLIP'
_LIBRARY = []  # keeps the torch.library declaration alive


def _missing_op(name: str):
    """A stand-in for a compiled op that says it is not available."""

    def op(*args, **kwargs):
        raise NotImplementedError(
            f'detectron2._C.{name}: compiled detectron2 ops are not built '
            'here (mmregion parity harness); RegionCLIP does not need it')

    return op


def _compiled_stub() -> types.ModuleType:
    module = types.ModuleType('detectron2._C')
    module.__mmregion_substitute__ = True

    def __getattr__(name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        return _missing_op(name)

    module.__getattr__ = __getattr__
    return module


def _declare_nms_rotated() -> None:
    if hasattr(torch.ops, 'detectron2') and _LIBRARY:
        return
    try:
        lib = torch.library.Library('detectron2', 'DEF')
        lib.define('nms_rotated(Tensor boxes, Tensor scores, '
                   'float iou_threshold) -> Tensor')
        _LIBRARY.append(lib)
    except RuntimeError:  # declared by an earlier run in this process
        pass


def _pydeps(root: str) -> str:
    path = os.environ.get('MMREGION_OFFICIAL_PYDEPS',
                          osp.join(osp.dirname(root), 'pydeps'))
    if not osp.isdir(osp.join(path, 'fvcore')):
        raise OfficialCodeError(
            f'RegionCLIP needs fvcore, iopath, yacs ... in {path} (set '
            'MMREGION_OFFICIAL_PYDEPS; docs/parity.md has the pip command)')
    return path


@contextmanager
def regionclip_code(path: str) -> Iterator[OfficialCode]:
    """Import RegionCLIP's detectron2 from ``path``, patched for this CPU.

    Args:
        path (str): The RegionCLIP clone.

    Yields:
        OfficialCode: With notes of every patch (see the module docstring).
    """
    with official_code(path, MARKERS, PROJECT) as code:
        deps = _pydeps(code.root)
        sys.path.insert(1, deps)
        code._undo.append(lambda: sys.path.remove(deps))
        code.add_module(
            'detectron2._C', _compiled_stub(),
            'detectron2._C: not compiled; a stub whose ops raise (RoIAlign '
            'and NMS are torchvision ops in RegionCLIP; rotated/deformable '
            'ops and the C++ COCO evaluator are unused)')
        diffdist = types.ModuleType('diffdist')
        diffdist.__mmregion_substitute__ = True
        code.add_module('diffdist', diffdist,
                        'diffdist: empty module (multi-GPU gather only)')
        _declare_nms_rotated()
        code.notes.append('torch.ops.detectron2.nms_rotated declared '
                          '(read at import, never called)')
        import numpy.lib
        if 'pad' not in vars(numpy.lib):
            code.setattr(numpy.lib, 'pad', np.pad,
                         'numpy 2: numpy.lib.pad = numpy.pad')
        yield code
