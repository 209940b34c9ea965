from .float_resize import FloatResize, resize_float_image

__all__ = ['FloatResize', 'resize_float_image']
