"""Open-vocabulary YOLACT box head: anchors scored against text embeddings."""
from typing import Tuple

from mmdet.registry import MODELS
from torch import Tensor, nn

from ..layers.open_vocabulary import OpenVocabularyMixin
from .batched_yolact_head import BatchedYOLACTHead


@MODELS.register_module()
class OpenVocabYOLACTHead(OpenVocabularyMixin, BatchedYOLACTHead):
    """YOLACT head whose classification branch is a text-embedding classifier.

    The class conv predicts a D-dim embedding per anchor instead of C + 1
    logits; :class:`TextClassifier` turns it into ``cos(e, t_c) / T`` for
    every class of the active vocabulary plus a fixed zero background logit,
    so the softmax OHEM loss, Fast NMS and everything downstream are
    YOLACT's. Train on the base-class vocabulary; evaluate on base + novel;
    call :meth:`set_vocabulary` to detect other words.

    Args:
        embed_dim (int): Text-embedding dim D.
        train_vocabulary (str | Tensor | dict): Base-class embeddings
            (C_train, D), anything ``load_embeddings`` reads.
        test_vocabulary (str | Tensor | dict, optional): Eval-mode
            embeddings; defaults to the train vocabulary.
        temperature (float): Classifier temperature. Defaults to 0.01.
        **kwargs: :class:`BatchedYOLACTHead` arguments; ``num_classes``
            must be None (the active vocabulary sets it).
    """

    def __init__(self,
                 embed_dim: int,
                 train_vocabulary,
                 test_vocabulary=None,
                 temperature: float = 0.01,
                 **kwargs) -> None:
        if kwargs.pop('num_classes', None) is not None:
            raise ValueError('OpenVocabYOLACTHead: num_classes is set by the '
                             'vocabulary; set it to None in the config')
        loss_cls = kwargs.get('loss_cls', {})
        if loss_cls.get('use_sigmoid', False):
            raise ValueError('OpenVocabYOLACTHead needs a softmax loss_cls '
                             '(use_sigmoid=False): the background logit is '
                             'the fixed zero column')
        self.embed_dim = embed_dim
        super().__init__(num_classes=0, **kwargs)
        self.init_vocabularies(embed_dim, train_vocabulary, test_vocabulary,
                               temperature, 'OpenVocabYOLACTHead')

    @property
    def cls_out_channels(self) -> int:
        """Logits per anchor: the active classes plus background."""
        return self.num_classes + 1

    @cls_out_channels.setter
    def cls_out_channels(self, value: int) -> None:
        """Ignored: follows the vocabulary."""

    def _init_layers(self) -> None:
        """mmdet's layers, with the class conv predicting embeddings."""
        super()._init_layers()
        self.conv_cls = nn.Conv2d(
            self.feat_channels,
            self.num_base_priors * self.embed_dim,
            3,
            padding=1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Forward one level.

        Args:
            x (Tensor): (B, C_in, H, W) features.

        Returns:
            tuple[Tensor, Tensor, Tensor]: class logits (B, A * (C + 1), H,
            W), box deltas (B, A * 4, H, W), coefficients (B, A * K, H, W).
        """
        for head_conv in self.head_convs:
            x = head_conv(x)
        b, _, h, w = x.shape
        a = self.num_base_priors
        emb = self.conv_cls(x).view(b, a, self.embed_dim, h, w)
        logits = self.classify(emb.permute(0, 3, 4, 1, 2).reshape(
            -1, self.embed_dim))
        logits = logits.view(b, h, w, a * self.cls_out_channels)
        return (logits.permute(0, 3, 1, 2), self.conv_reg(x),
                self.conv_coeff(x).tanh())
