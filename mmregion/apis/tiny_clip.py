"""Train a small CLIP from scratch on image-caption pairs (open_clip)."""
import os.path as osp
import time
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence

import open_clip
import torch
import torch.nn.functional as F
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope
from open_clip.loss import ClipLoss
from torch import Tensor

from ..datasets.concepts import caption_objects
from ..fileio import atomic_save
from ..models.backbones.clip_resnet import CLIP_PIXEL_MEAN, CLIP_PIXEL_STD


def multi_positive_clip_loss(image_features: Tensor, text_features: Tensor,
                             logit_scale: Tensor,
                             keys: List[FrozenSet[str]]) -> Tensor:
    """CLIP's symmetric contrastive loss where every pair of the batch
    whose captions name the same objects is a positive (UniCL-style soft
    targets), not only an image and its own caption.

    With a dozen classes a batch of 32 holds many captions naming the same
    shapes; :class:`ClipLoss` treats them as negatives of each other.

    Args:
        image_features (Tensor): (B, D) normalised image embeddings.
        text_features (Tensor): (B, D) normalised caption embeddings.
        logit_scale (Tensor): Scalar, the exponentiated temperature.
        keys (list[frozenset[str]]): B object sets (:func:`caption_objects`).

    Returns:
        Tensor: Scalar loss; equals :class:`ClipLoss` when the keys are
        all different.
    """
    same = torch.tensor([[a == b for b in keys] for a in keys],
                        dtype=image_features.dtype,
                        device=image_features.device)
    targets = same / same.sum(1, keepdim=True)
    logits = logit_scale * image_features @ text_features.t()
    return -((targets * F.log_softmax(logits, 1)).sum(1).mean() +
             (targets * F.log_softmax(logits.t(), 1)).sum(1).mean()) / 2


def train_tiny_clip(data_root: str,
                    out: str,
                    ann_file: str = 'annotations/captions_train.json',
                    model_name: str = 'RN-tiny',
                    epochs: int = 40,
                    batch_size: int = 32,
                    lr: float = 2e-3,
                    weight_decay: float = 0.1,
                    seed: int = 0,
                    positives: Optional[Sequence[str]] = None,
                    log: Optional[Callable[[str], None]] = print
                    ) -> Dict[str, float]:
    """Train an open_clip CLIP with its contrastive loss (``ClipLoss``,
    or :func:`multi_positive_clip_loss` with ``positives``).

    Images come from :class:`~mmregion.datasets.CocoImageCaptionDataset`
    (mmdet's loading and resizing to the model's input size), are held in
    memory and flipped horizontally at random; each image is paired with
    one random caption of it per epoch; the
    model is ``open_clip.create_model(model_name)`` with random weights,
    trained with AdamW and a cosine learning rate. The result is a plain
    CLIP state dict that :class:`CLIPResNet` and :class:`CLIPTextEncoder`
    load (``checkpoint=out``).

    Args:
        data_root (str): Dataset root (images and ``ann_file``).
        out (str): Output ``.pth`` file (written atomically).
        ann_file (str): COCO Captions json, relative to ``data_root``.
            Defaults to ``'annotations/captions_train.json'``.
        model_name (str): open_clip model. Defaults to ``'RN-tiny'``.
        epochs (int): Passes over the images. Defaults to 40.
        batch_size (int): Pairs per step (the last partial batch is
            dropped). Defaults to 32.
        lr (float): Peak AdamW learning rate. Defaults to 2e-3.
        weight_decay (float): AdamW weight decay. Defaults to 0.1.
        seed (int): Seed of weights, order and caption choice.
            Defaults to 0.
        positives (Sequence[str], optional): Object words: pairs whose
            captions name the same set of them are all positives
            (:func:`multi_positive_clip_loss`). None: each image's own
            caption only (``ClipLoss``). Defaults to None.
        log (Callable, optional): Receives a progress line per epoch.

    Returns:
        dict[str, float]: ``loss`` (mean of the last epoch), ``seconds``.
    """
    start = time.time()
    torch.manual_seed(seed)
    model = open_clip.create_model(model_name, pretrained=None)
    size = model.visual.image_size
    size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    tokenizer = open_clip.get_tokenizer(model_name)
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(
            dict(
                type='CocoImageCaptionDataset',
                data_root=data_root,
                ann_file=ann_file,
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='Resize', scale=size[::-1], keep_ratio=False),
                    dict(type='PackDetInputs', meta_keys=('captions', ))
                ]))
    if len(dataset) < batch_size:
        raise ValueError(f'train_tiny_clip: {len(dataset)} images in '
                         f'{osp.join(data_root, ann_file)}, fewer than '
                         f'batch_size={batch_size}')
    # the images are small: load and normalise them once
    items = [dataset[i] for i in range(len(dataset))]
    mean = torch.tensor(CLIP_PIXEL_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_PIXEL_STD).view(1, 3, 1, 1)
    # mmcv loads BGR; CLIP expects RGB
    images = (torch.stack([item['inputs'] for item in items]).float().flip(1)
              - mean) / std
    captions = [item['data_samples'].captions for item in items]
    steps_per_epoch = len(images) // batch_size
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch,
        pct_start=0.1)
    clip_loss = ClipLoss()
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for epoch in range(epochs):
        losses = []
        order = torch.randperm(len(images), generator=generator)
        for step in range(steps_per_epoch):
            index = order[step * batch_size:(step + 1) * batch_size]
            flip = torch.rand(len(index), generator=generator) < 0.5
            batch = images[index]
            batch[flip] = batch[flip].flip(-1)
            texts = [
                captions[i][int(
                    torch.randint(len(captions[i]), (), generator=generator))]
                for i in index.tolist()
            ]
            image_features, text_features, logit_scale = model(
                batch, tokenizer(texts))[:3]
            if positives is None:
                loss = clip_loss(image_features, text_features, logit_scale)
            else:
                loss = multi_positive_clip_loss(
                    image_features, text_features, logit_scale,
                    [caption_objects(t, positives) for t in texts])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, 4.6052)  # scale <= 100, as CLIP
            losses.append(loss.item())
        if log is not None:
            log(f'[tiny CLIP] epoch {epoch + 1}/{epochs} loss '
                f'{sum(losses) / len(losses):.4f} '
                f'({time.time() - start:.0f}s)')
    atomic_save(model.state_dict(), out)
    return dict(loss=sum(losses) / len(losses), seconds=time.time() - start)
