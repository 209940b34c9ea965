"""Export the student of a region-text pretraining run."""
import os.path as osp
from typing import Dict

from torch import Tensor

from ..fileio import atomic_save, load_checkpoint_file

STUDENT_FORMAT = 'mmregion.clip_visual.v1'


def export_student(checkpoint: str,
                   out: str,
                   prefix: str = 'backbone.') -> Dict[str, Tensor]:
    """Write a :class:`RegionPretrainer` checkpoint's student as a CLIP
    visual-tower file.

    The output holds ``{'state_dict': {key: tensor}, 'meta': {...}}`` with
    the student's keys without ``prefix`` (``conv1.weight``,
    ``layer3.0.bn1.running_mean``, ``attnpool.c_proj.weight``, ...), which
    is what :class:`CLIPResNet` loads, strictly, from
    ``checkpoint=FILE`` (e.g. ``--cfg-options model.backbone.checkpoint=
    FILE`` for a fine-tuning config), or through ``init_cfg=dict(
    type='Pretrained', checkpoint=FILE)``. The file is written atomically.

    Args:
        checkpoint (str): A pretraining checkpoint (mmengine, ``state_dict``
            with ``backbone.*`` = student, ``teacher_backbone.*``, ...).
        out (str): Output ``.pth`` file; its folder is created.
        prefix (str): Prefix of the student's keys. Defaults to
            ``'backbone.'``.

    Returns:
        dict[str, Tensor]: The exported state dict.

    Raises:
        FileNotFoundError: If ``checkpoint`` does not exist.
        ValueError: If it holds no ``prefix`` keys (naming its first keys).
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    student = {
        key[len(prefix):]: value
        for key, value in state.items() if key.startswith(prefix)
    }
    if not student:
        raise ValueError(f'{checkpoint}: no {prefix}* keys (the student of a '
                         f'RegionPretrainer checkpoint); its first keys: '
                         f'{list(state)[:5]}')
    meta = dict(
        format=STUDENT_FORMAT,
        source=osp.abspath(checkpoint),
        iter=int(ckpt.get('meta', {}).get('iter', -1)))
    atomic_save(dict(state_dict=student, meta=meta), out)
    return student
