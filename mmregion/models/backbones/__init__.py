from .resnet_se import ResNetSE

__all__ = ['ResNetSE']
