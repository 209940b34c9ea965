"""RegionCLIP's region-text pretraining as an mmdet detector."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi, scale_boxes
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ...data.prompt_templates import Templates
from ...datasets.concepts import ConceptPool
from ..language.vocabulary import Vocabulary
from ..layers.grid_regions import clipped_grid_boxes, image_boxes
from ..layers.region_crops import crop_regions
from ..losses.region_text_losses import (
    PseudoLabels,
    caption_candidates,
    check_loss_weights,
    concept_pseudo_labels,
    image_text_contrastive_loss,
    region_distillation_loss,
    region_text_contrastive_loss,
)
from .regionclip import offline_rpn_proposals

DEFAULT_GRID = dict(
    type='AnchorGenerator',
    strides=[32],
    ratios=[0.5, 1.0, 2.0],
    scales=[1.0, 2.0, 4.0])
"""Dense grid of regions when no offline RPN is given: boxes of 32, 64 and
128 pixels (three aspect ratios) centred every 32 pixels."""


@MODELS.register_module()
class RegionPretrainer(BaseDetector):
    """Region-text pretraining of a CLIP ResNet (RegionCLIP, CVPR 2022).

    Data flow of one step, for images with captions:

    1. regions: proposals of a frozen offline RPN (RegionCLIP: 300 after NMS
       0.5, set in its ``test_cfg``) or, without one, a dense grid of boxes
       (``grid_boxes``, an mmdet prior generator); ``num_regions`` of them
       sampled per image in training; plus one whole-image box;
    2. region embeddings: RoIAlign on res4 (``roi_extractor``) → the
       backbone's res5 and attention pool (``CLIPResNet.pool_regions``), by
       the trained student (``backbone``) and by the frozen teacher
       (``teacher_backbone``, same config, loaded from the checkpoint; the
       student starts from its weights);
    3. pseudo labels: teacher region embeddings vs the concept pool's text
       embeddings, softmax at ``temperature``, regions kept when the max
       probability exceeds ``concept_threshold``;
    4. losses (:mod:`~mmregion.models.losses.region_text_losses`), each
       times its ``loss_weights`` entry: ``loss_region_text`` (contrastive,
       same concept = positive), ``loss_region_distill`` (KL from the
       teacher over the pool, kept regions) and ``loss_image_text``
       (whole-image box vs a random caption of the image embedded by the
       frozen ``text_encoder``, symmetric, negatives gathered from all
       processes).

    The captions come from the data samples' ``captions`` metainfo
    (:class:`~mmregion.datasets.CocoImageCaptionDataset` with ``'captions'``
    in ``PackDetInputs``' ``meta_keys``). Only the student is trained; it is
    saved under ``backbone.*`` as in RegionCLIP checkpoints and
    :func:`mmregion.apis.export_student` turns it into a CLIP visual-tower
    file for the fine-tuning configs (``model.backbone.checkpoint``).

    ``predict`` labels the regions of each image with the student's best
    concept (``labels`` index the concept pool, ``concept_names``).

    Args:
        backbone (dict): A :class:`CLIPResNet` config (``checkpoint`` or
            ``init_cfg`` give the CLIP weights of teacher and student).
        text_encoder (dict): A :class:`CLIPTextEncoder` config (frozen), the
            text tower of the same CLIP.
        concepts (str | Sequence[str]): The concept pool: a concepts file
            (:class:`~mmregion.datasets.ConceptPool`, from
            ``tools/misc/extract_concepts.py``), a vocabulary ``.pth``
            (:meth:`Vocabulary.load`) or a list of names.
        roi_extractor (dict): mmdet RoI extractor on res4, e.g.
            ``SingleRoIExtractor`` with ``RoIAlign(output_size=14,
            sampling_ratio=0, aligned=True)`` and ``featmap_strides=[16]``.
        offline_rpn (dict, optional): A frozen mmdet ``RPN`` detector
            config with its own ``data_preprocessor`` and ``test_cfg``.
            Defaults to None (grid boxes).
        grid_boxes (dict): Prior generator config (``TASK_UTILS``) giving
            the grid when there is no offline RPN; boxes that lose more than
            half their area when clipped to the image are dropped. Defaults
            to :data:`DEFAULT_GRID`.
        num_regions (int): Regions sampled per image in training. Defaults
            to 100.
        templates (str | Sequence[str]): Prompt templates of the concept
            embeddings. Defaults to ``'regionclip'`` (81).
        cache_dir (str, optional): Cache of concept embeddings
            (:meth:`Vocabulary.build`). Defaults to None.
        temperature (float): Temperature of pseudo labels and losses.
            Defaults to 0.01.
        concept_threshold (float): Minimum teacher max-probability of a
            kept region. Defaults to 0.1.
        loss_weights (dict, optional): Weights of ``region_text``,
            ``distillation`` and ``image_text`` (missing keys: 1.0; 0
            switches a loss off). Defaults to all 1.0.
        gather_image_text (bool): Negatives of the image-text loss from all
            processes. Defaults to True.
        teacher_crops (float, optional): None: the teacher embeds regions
            as the student does (RegionCLIP). A number: it embeds each
            region as an image, a square crop with this much context
            (:func:`crop_regions`) at its input size (16 x the pooler
            resolution), as the image-level CLIP it is was trained.
            Defaults to None.
        caption_concepts (bool): False: a region's pseudo label ranges
            over the whole pool (RegionCLIP). True: over the concepts its
            image's captions name (:func:`caption_candidates`); regions of
            an image whose captions name none are not kept. Defaults to
            False.
        data_preprocessor (dict, optional): Our preprocessor (CLIP pixel
            statistics).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 text_encoder: ConfigType,
                 concepts: Union[str, Sequence[str]],
                 roi_extractor: ConfigType,
                 offline_rpn: OptConfigType = None,
                 grid_boxes: ConfigType = DEFAULT_GRID,
                 num_regions: int = 100,
                 templates: Templates = 'regionclip',
                 cache_dir: Optional[str] = None,
                 temperature: float = 0.01,
                 concept_threshold: float = 0.1,
                 loss_weights: Optional[Dict[str, float]] = None,
                 gather_image_text: bool = True,
                 teacher_crops: Optional[float] = None,
                 caption_concepts: bool = False,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_regions < 1:
            raise ValueError(f'RegionPretrainer: num_regions must be >= 1, '
                             f'got {num_regions}')
        if temperature <= 0:
            raise ValueError(f'RegionPretrainer: temperature must be > 0, '
                             f'got {temperature}')
        self.loss_weights = check_loss_weights(loss_weights)
        self.teacher_backbone = MODELS.build(copy.deepcopy(backbone))
        self.teacher_backbone.requires_grad_(False)
        self.backbone = MODELS.build(
            dict(copy.deepcopy(backbone), checkpoint=None, init_cfg=None))
        self.text_encoder = MODELS.build(copy.deepcopy(text_encoder))
        self.roi_extractor = MODELS.build(copy.deepcopy(roi_extractor))
        self.offline_rpn: Optional[nn.Module] = None
        self.grid_generator = None
        if offline_rpn is not None:
            self.offline_rpn = MODELS.build(copy.deepcopy(offline_rpn))
            self.offline_rpn.requires_grad_(False)
        else:
            self.grid_generator = TASK_UTILS.build(copy.deepcopy(grid_boxes))
        self.num_regions = num_regions
        self.temperature = temperature
        self.concept_threshold = concept_threshold
        self.gather_image_text = gather_image_text
        self.teacher_crops = teacher_crops
        self.caption_concepts = caption_concepts
        vocabulary = self._concept_vocabulary(concepts, templates, cache_dir)
        self.concept_names: List[str] = vocabulary.class_names
        self.register_buffer(
            'concept_embeddings', vocabulary.embeddings, persistent=False)
        self.train()

    def _concept_vocabulary(self, concepts: Union[str, Sequence[str]],
                            templates: Templates,
                            cache_dir: Optional[str]) -> Vocabulary:
        """Embed the concept pool with the text encoder (or read a file)."""
        where = 'RegionPretrainer.concepts'
        if isinstance(concepts, str) and concepts.endswith('.pth'):
            vocabulary = Vocabulary.load(concepts)
        else:
            names = ConceptPool.load(concepts).names if isinstance(
                concepts, str) else list(concepts)
            vocabulary = Vocabulary.build(
                names, self.text_encoder, templates, cache_dir=cache_dir)
        return vocabulary.check_dim(self.backbone.embed_dim, where)

    def init_weights(self) -> None:
        """Load the teacher (and offline RPN); copy the teacher into the
        student on the first call."""
        first = not self.is_init
        super().init_weights()
        if first:
            self.backbone.load_state_dict(self.teacher_backbone.state_dict())

    def train(self, mode: bool = True) -> 'RegionPretrainer':
        """Set the mode; teacher, text encoder and offline RPN stay in eval.

        Args:
            mode (bool): Training mode. Defaults to True.

        Returns:
            RegionPretrainer: self.
        """
        super().train(mode)
        for frozen in (self.teacher_backbone, self.text_encoder,
                       self.offline_rpn):
            if frozen is not None:
                frozen.eval()
        return self

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """The student's backbone maps (res4).

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.

        Returns:
            tuple[Tensor]: The ``out_indices`` maps of the student.
        """
        return self.backbone(batch_inputs)

    def embed_regions(self, backbone: nn.Module, batch_inputs: Tensor,
                      rois: Tensor) -> Tensor:
        """Region embeddings of a CLIP backbone.

        Args:
            backbone (CLIPResNet): The student or the teacher.
            batch_inputs (Tensor): (B, 3, H, W) images.
            rois (Tensor): (N, 5) rois (batch index, x1, y1, x2, y2).

        Returns:
            Tensor: (N, D) region embeddings, not normalised.
        """
        # channels-last in inference (the teacher): mmcv's CPU RoIAlign
        # reads any input as contiguous NCHW and scrambles those regions
        feats = [f.contiguous() for f in backbone(batch_inputs)]
        return backbone.pool_regions(self.roi_extractor(feats, rois))

    @torch.no_grad()
    def teacher_regions(self, batch_inputs: Tensor, rois: Tensor) -> Tensor:
        """The teacher's region embeddings, by RoIAlign or from crops
        (``teacher_crops``).

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            rois (Tensor): (N, 5) rois.

        Returns:
            Tensor: (N, D) embeddings, not normalised.
        """
        teacher = self.teacher_backbone
        if self.teacher_crops is None:
            return self.embed_regions(teacher, batch_inputs, rois)
        crops = crop_regions(batch_inputs, rois,
                             16 * teacher.pooler_resolution,
                             self.teacher_crops)
        return torch.cat([
            teacher.pool_regions(teacher(part)[0].contiguous())
            for part in crops.split(256)
        ]) if len(crops) else batch_inputs.new_zeros(0, teacher.embed_dim)

    def pseudo_labels(self, batch_inputs: Tensor, rois: Tensor,
                      batch_data_samples: SampleList) -> PseudoLabels:
        """The teacher's concept labels of regions (see
        ``caption_concepts``).

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            rois (Tensor): (N, 5) rois.
            batch_data_samples (list[DetDataSample]): Image metas, with
                ``captions`` when ``caption_concepts``.

        Returns:
            PseudoLabels: Over the concept pool, ``keep`` with
            ``concept_threshold``.
        """
        allowed = caption_candidates(
            [self._sample_captions(s) for s in batch_data_samples],
            self.concept_names,
            rois[:, 0]) if self.caption_concepts else None
        return concept_pseudo_labels(
            self.teacher_regions(batch_inputs, rois),
            self.concept_embeddings, self.temperature,
            self.concept_threshold, allowed)

    def regions(self, batch_inputs: Tensor,
                batch_data_samples: SampleList) -> List[Tensor]:
        """Regions of each image: offline RPN proposals or grid boxes,
        ``num_regions`` sampled per image in training.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[DetDataSample]): Image metas
                (``img_shape``).

        Returns:
            list[Tensor]: Per image, (n_i, 4) boxes in input coordinates.
        """
        if self.offline_rpn is not None:
            boxes = [
                p.bboxes for p in offline_rpn_proposals(
                    self.offline_rpn, self.data_preprocessor, batch_inputs,
                    batch_data_samples)
            ]
        else:
            boxes = clipped_grid_boxes(self.grid_generator, batch_inputs,
                                       batch_data_samples)
        if self.training:
            boxes = [
                b[torch.randperm(len(b), device=b.device)[:self.num_regions]]
                for b in boxes
            ]
        return boxes

    def captions(self, batch_data_samples: SampleList) -> List[str]:
        """One caption per image: a random one in training, else the first.

        Args:
            batch_data_samples (list[DetDataSample]): With ``captions`` (a
                list of str) in their metainfo.

        Returns:
            list[str]: B captions.

        Raises:
            KeyError: If a sample has no captions, naming its image.
        """
        picked = []
        for sample in batch_data_samples:
            captions = self._sample_captions(sample)
            index = int(torch.randint(len(captions), ())) if \
                self.training else 0
            picked.append(captions[index])
        return picked

    @staticmethod
    def _sample_captions(sample) -> List[str]:
        """The ``captions`` of a data sample; KeyError naming its image."""
        captions = sample.metainfo.get('captions')
        if not captions:
            raise KeyError(
                f"RegionPretrainer: the data sample of "
                f"{sample.metainfo.get('img_path', '?')} has no "
                f"'captions' in its metainfo; use a caption dataset and "
                f"add 'captions' to PackDetInputs' meta_keys")
        return list(captions)

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """The weighted pretraining losses of a batch.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[DetDataSample]): With ``captions``.

        Returns:
            dict[str, Tensor]: ``loss_region_text``, ``loss_region_distill``
            and ``loss_image_text`` (those with a weight > 0), and
            ``region_keep_ratio`` (logged, not optimised): the fraction of
            regions the teacher labelled.
        """
        regions = bbox2roi(self.regions(batch_inputs, batch_data_samples))
        images = bbox2roi(
            image_boxes(batch_data_samples, batch_inputs.device))
        student = self.embed_regions(self.backbone, batch_inputs,
                                     torch.cat([regions, images]))
        region_emb, image_emb = student.split([len(regions), len(images)])
        labels = self.pseudo_labels(batch_inputs, regions,
                                    batch_data_samples)
        kept_emb = region_emb[labels.keep]
        weights = self.loss_weights
        losses = dict(region_keep_ratio=labels.keep.float().sum() /
                      max(len(labels.keep), 1))
        if weights['region_text']:
            losses['loss_region_text'] = weights[
                'region_text'] * region_text_contrastive_loss(
                    kept_emb, self.concept_embeddings,
                    labels.labels[labels.keep], self.temperature)
        if weights['distillation']:
            losses['loss_region_distill'] = weights[
                'distillation'] * region_distillation_loss(
                    kept_emb, self.concept_embeddings,
                    labels.probs[labels.keep], self.temperature)
        if weights['image_text']:
            text_emb = self.text_encoder.encode(
                self.captions(batch_data_samples))
            losses['loss_image_text'] = weights[
                'image_text'] * image_text_contrastive_loss(
                    image_emb, text_emb.to(image_emb.dtype),
                    self.temperature, gather=self.gather_image_text)
        return losses

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Label every region with the student's most likely concept.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[DetDataSample]): Image metas.
            rescale (bool): Boxes in original image coordinates.

        Returns:
            list[DetDataSample]: ``pred_instances`` with ``bboxes`` (n, 4),
            ``scores`` (n,) (the concept probability) and ``labels`` (n,)
            (indices into ``concept_names``).
        """
        boxes = self.regions(batch_inputs, batch_data_samples)
        embeddings = self.embed_regions(self.backbone, batch_inputs,
                                        bbox2roi(boxes))
        probs = concept_pseudo_labels(embeddings, self.concept_embeddings,
                                      self.temperature, 0.0).probs
        results = []
        for sample_boxes, sample_probs, sample in zip(
                boxes, probs.split([len(b) for b in boxes]),
                batch_data_samples):
            scores, labels = sample_probs.max(-1) if len(sample_probs) else (
                sample_probs.new_zeros(0), sample_probs.new_zeros(
                    0, dtype=torch.long))
            if rescale and len(sample_boxes):
                sample_boxes = scale_boxes(
                    sample_boxes,
                    [1 / s for s in sample.metainfo['scale_factor']])
            results.append(
                InstanceData(bboxes=sample_boxes, scores=scores,
                             labels=labels))
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: SampleList) -> Tuple[Tensor]:
        """Student embeddings of the regions and whole-image boxes.

        Args:
            batch_inputs (Tensor): (B, 3, H, W) images.
            batch_data_samples (list[DetDataSample]): Image metas.

        Returns:
            tuple[Tensor]: (N + B, D) embeddings: per image its regions,
            then its whole-image box.
        """
        rois = bbox2roi([
            torch.cat([r, i]) for r, i in zip(
                self.regions(batch_inputs, batch_data_samples),
                image_boxes(batch_data_samples, batch_inputs.device))
        ])
        return (self.embed_regions(self.backbone, batch_inputs, rois), )

