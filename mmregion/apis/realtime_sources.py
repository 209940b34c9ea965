"""Where the real-time demos' frames come from: a video file, a camera or a
folder of images (:class:`FrameSource`, BGR frames with names)."""
import os
import os.path as osp
from typing import Iterator, List, Tuple, Union

import cv2
import numpy as np

from .cli import IMAGE_EXTENSIONS

DEFAULT_VIDEO_FPS = 25.0
"""Frame rate of written videos when the source has none (cameras, folders)."""


class FrameSource:
    """Frames of a video file, a camera or a folder of images, in BGR.

    Args:
        source (str | int): A video file, a folder of images, or a camera
            index (an int, or a string of digits).

    Raises:
        FileNotFoundError: When a video file or folder does not exist.
        ValueError: When a folder has no images.
        RuntimeError: When OpenCV cannot open the video or the camera.
    """

    def __init__(self, source: Union[str, int]) -> None:
        self.capture = None
        self.files: List[str] = []
        if isinstance(source, int) or str(source).isdigit():
            self.kind, self.name = 'camera', f'camera {int(source)}'
            self.capture = cv2.VideoCapture(int(source))
            if not self.capture.isOpened():
                raise RuntimeError(
                    f'cannot open camera {int(source)}: no such device, or '
                    f'it is busy or not permitted (use --folder DIR or a '
                    f'video file without a camera)')
        elif osp.isdir(source):
            self.kind, self.name = 'folder', source
            self.files = sorted(
                osp.join(source, f) for f in os.listdir(source)
                if f.lower().endswith(IMAGE_EXTENSIONS))
            if not self.files:
                raise ValueError(f'no images ({", ".join(IMAGE_EXTENSIONS)})'
                                 f' in the folder {source}')
        elif not osp.isfile(source):
            raise FileNotFoundError(
                f'{source} does not exist (expected a video file, a folder '
                f'of images or a camera index)')
        else:
            self.kind, self.name = 'video', source
            self.capture = cv2.VideoCapture(source)
            if not self.capture.isOpened():
                raise RuntimeError(f'OpenCV cannot read {source} as a video')

    @property
    def fps(self) -> float:
        """The source's frame rate (:data:`DEFAULT_VIDEO_FPS` if unknown)."""
        if self.kind == 'video':
            fps = self.capture.get(cv2.CAP_PROP_FPS)
            if fps and fps > 0:
                return float(fps)
        return DEFAULT_VIDEO_FPS

    def __iter__(self) -> Iterator[Tuple[str, np.ndarray]]:
        """Yield (frame name, BGR uint8 image): ``000000.jpg``... for
        videos and cameras, the file names for a folder."""
        if self.kind == 'folder':
            for path in self.files:
                image = cv2.imread(path, cv2.IMREAD_COLOR)
                if image is None:
                    raise ValueError(f'OpenCV cannot read the image {path}')
                yield osp.basename(path), image
            return
        index = 0
        while True:
            ok, frame = self.capture.read()
            if not ok:
                return
            yield f'{index:06d}.jpg', frame
            index += 1

    def close(self) -> None:
        """Release the video or camera."""
        if self.capture is not None:
            self.capture.release()
