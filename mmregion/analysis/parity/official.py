"""Import official code from a folder the user names, patched to run here.

Nothing of the official code is copied into mmregion: :func:`official_code`
puts the user's clone first on ``sys.path`` for the duration of a ``with``
block and then removes it and every module imported from it, so two clones
with clashing top-level names (``data``, ``utils``) can run in one process
one after the other. The patches the official code needs on a current CPU
stack are applied only inside that block, and each says what it did
(:attr:`OfficialCode.notes`).
"""
import os
import os.path as osp
import sys
import types
from contextlib import contextmanager
from typing import Callable, Iterator, List, Sequence

import numpy as np
import torch
from torch import nn

#: numpy aliases removed in numpy 1.24 / 2.0 that old code still uses.
NUMPY_ALIASES = dict(float=float, int=int, bool=bool, object=object,
                     complex=complex, str=str)
#: Pillow constants removed in Pillow 10, and their replacements.
PIL_ALIASES = dict(LINEAR='BILINEAR', CUBIC='BICUBIC', ANTIALIAS='LANCZOS')


class OfficialCodeError(ValueError):
    """The official folder is missing or is not the expected code."""


class OfficialCode:
    """What :func:`official_code` set up.

    Attributes:
        root (str): The official folder (absolute).
        notes (list[str]): One line per patch or substitution applied.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.notes: List[str] = []
        self._undo: List[Callable[[], None]] = []

    def setattr(self, obj: object, name: str, value: object,
                note: str) -> None:
        """Set an attribute until the block ends, and note it.

        Args:
            obj (object): Module or class to patch.
            name (str): Attribute name.
            value (object): New value.
            note (str): What and why, for the report.
        """
        missing = object()
        # the object's own attribute (not an inherited one, which delattr
        # restores), read without triggering module __getattr__ warnings
        old = vars(obj).get(name, missing)
        setattr(obj, name, value)
        if old is missing:
            self._undo.append(lambda: delattr(obj, name))
        else:
            self._undo.append(lambda: setattr(obj, name, old))
        self.notes.append(note)

    def add_module(self, name: str, module: types.ModuleType,
                   note: str) -> None:
        """Provide a module (e.g. for a compiled extension) and note it.

        Args:
            name (str): Import name.
            module (ModuleType): The substitute.
            note (str): What it replaces, for the report.
        """
        sys.modules[name] = module
        self.notes.append(note)

    def undo(self) -> None:
        """Revert every :meth:`setattr`, last first."""
        while self._undo:
            self._undo.pop()()


def check_official_dir(path: str, marker_files: Sequence[str],
                       project: str) -> str:
    """Check that a folder holds the expected official code.

    Args:
        path (str): Folder the user named.
        marker_files (Sequence[str]): Relative paths that must exist.
        project (str): Name for the message, e.g. ``dbolya/yolact``.

    Returns:
        str: The absolute folder.

    Raises:
        OfficialCodeError: The folder or a marker file is missing.
    """
    root = osp.abspath(osp.expanduser(path))
    if not osp.isdir(root):
        raise OfficialCodeError(
            f'official code folder {path} does not exist (clone {project} '
            'there; docs/parity.md has the commands)')
    missing = [f for f in marker_files if not osp.exists(osp.join(root, f))]
    if missing:
        raise OfficialCodeError(
            f'{path} is not a {project} clone: missing {", ".join(missing)}')
    return root


def _patch_numpy(code: OfficialCode) -> None:
    for name, value in NUMPY_ALIASES.items():
        if name not in np.__dict__:
            code.setattr(np, name, value,
                         f'numpy 2: np.{name} = builtin {value.__name__}')


def _patch_pillow(code: OfficialCode) -> None:
    try:
        from PIL import Image
    except ImportError:
        return
    for old, new in PIL_ALIASES.items():
        if not hasattr(Image, old) and hasattr(Image, new):
            code.setattr(Image, old, getattr(Image, new),
                         f'Pillow 10: Image.{old} = Image.{new}')


def _patch_cuda(code: OfficialCode) -> None:
    if torch.cuda.is_available():
        return
    code.setattr(torch.cuda, 'current_device', lambda: 0,
                 'CPU: torch.cuda.current_device() returns 0 (called at '
                 'import)')

    def to_self(self, *args, **kwargs):
        return self

    code.setattr(torch.Tensor, 'cuda', to_self,
                 'CPU: Tensor.cuda() returns the tensor (no GPU)')
    code.setattr(nn.Module, 'cuda', to_self,
                 'CPU: Module.cuda() returns the module (no GPU)')


@contextmanager
def official_code(path: str, marker_files: Sequence[str],
                  project: str) -> Iterator[OfficialCode]:
    """Make an official clone importable, with the run-time patches.

    Inside the block: the folder is ``sys.path[0]`` and the working
    directory (some official code opens files relative to it); numpy 2
    aliases (``np.float``...), Pillow 10 constants (``Image.LINEAR``...)
    and, without a GPU, ``torch.cuda.current_device`` / ``.cuda()`` are
    patched. On exit all of this is undone and the modules imported from
    the folder are dropped from ``sys.modules``.

    Args:
        path (str): The official folder.
        marker_files (Sequence[str]): Files that identify the clone.
        project (str): e.g. ``dbolya/yolact``, for messages.

    Yields:
        OfficialCode: Notes of what was patched; runners add theirs (e.g.
        a compiled extension substituted by an mmcv op).

    Raises:
        OfficialCodeError: See :func:`check_official_dir`.
    """
    root = check_official_dir(path, marker_files, project)
    code = OfficialCode(root)
    before = set(sys.modules)
    cwd = os.getcwd()
    sys.path.insert(0, root)
    os.chdir(root)
    try:
        _patch_numpy(code)
        _patch_pillow(code)
        _patch_cuda(code)
        yield code
    finally:
        code.undo()
        os.chdir(cwd)
        if sys.path and sys.path[0] == root:
            sys.path.pop(0)
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            file = getattr(module, '__file__', None) or ''
            if (file.startswith(root + os.sep)
                    or getattr(module, '__mmregion_substitute__', False)):
                del sys.modules[name]


def modulated_deform_conv_module(name: str, class_name: str,
                                 note: str) -> types.ModuleType:
    """A module whose ``class_name`` is DCNv2's ``DCN`` on mmcv's op.

    The class has the official parameters (``weight``, ``bias``,
    ``conv_offset_mask``) and forward: ``o1, o2, mask = chunk(
    conv_offset_mask(x), 3)``, ``offset = cat(o1, o2)``, ``mask =
    sigmoid(mask)``, then mmcv's ``modulated_deform_conv2d`` (the same
    sampling as DCNv2's CPU and CUDA kernels).

    Args:
        name (str): Module name (e.g. ``dcn_v2``).
        class_name (str): Class name (e.g. ``DCN``).
        note (str): Stored on the module for the report.

    Returns:
        ModuleType: The substitute module.
    """
    from mmcv.ops import modulated_deform_conv2d
    from torch.nn.modules.utils import _pair

    class DCN(nn.Module):
        """DCNv2's ``DCN`` computed by mmcv (see the module docstring)."""

        def __init__(self, in_channels: int, out_channels: int,
                     kernel_size, stride, padding, dilation=1,
                     deformable_groups: int = 1) -> None:
            super().__init__()
            self.kernel_size = _pair(kernel_size)
            self.stride, self.padding = _pair(stride), _pair(padding)
            self.dilation = _pair(dilation)
            self.deformable_groups = deformable_groups
            self.weight = nn.Parameter(
                torch.empty(out_channels, in_channels, *self.kernel_size))
            self.bias = nn.Parameter(torch.zeros(out_channels))
            nn.init.kaiming_uniform_(self.weight, a=5**0.5)
            self.conv_offset_mask = nn.Conv2d(
                in_channels,
                deformable_groups * 3 * self.kernel_size[0] *
                self.kernel_size[1],
                self.kernel_size, self.stride, self.padding, bias=True)
            nn.init.zeros_(self.conv_offset_mask.weight)
            nn.init.zeros_(self.conv_offset_mask.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """Deformable convolution of (B, C, H, W) ``x``."""
            o1, o2, mask = torch.chunk(self.conv_offset_mask(x), 3, dim=1)
            offset = torch.cat((o1, o2), dim=1)
            return modulated_deform_conv2d(
                x, offset, torch.sigmoid(mask), self.weight, self.bias,
                self.stride, self.padding, self.dilation, 1,
                self.deformable_groups)

    module = types.ModuleType(name, note)
    module.__mmregion_substitute__ = True
    setattr(module, class_name, DCN)
    return module
