"""What every command-line tool shares: user errors as a few lines, exit 2.

Each script in ``tools/`` and ``demo/`` adds the common options to its
parser and runs its ``main`` through :func:`cli_main`::

    def parse_args():
        parser = argparse.ArgumentParser(...)
        ...
        add_cli_arguments(parser, trust_checkpoint=True)
        return parser.parse_args()

    if __name__ == '__main__':
        cli_main(main)

A user error (a missing or corrupt file, a bad value, a config-key typo,
weights of another architecture, an untrusted pickle ...) is printed as
``error: <message>`` on stderr, at most :data:`MAX_LINES` lines, and the
process exits with status 2, argparse's status for bad arguments. With
``--debug`` the traceback is printed instead. Other exceptions (bugs) keep
their traceback and status 1. Writes a later run reads go through
:mod:`mmregion.fileio`'s atomic writes, so a failed run leaves no
half-written output.

This module imports only the standard library (``mmregion``'s own
``__init__`` still registers the models when a tool imports it).
"""
import argparse
import json
import os
import pickle
import sys
import traceback
import warnings
from typing import Any, Callable, List, Optional, Sequence

EXIT_USER_ERROR = 2
"""Exit status of a tool stopped by bad input (as argparse's)."""

MAX_LINES = 4
"""Most lines of an error message; longer ones are cut with a count."""

USER_ERRORS = (OSError, ValueError, KeyError, TypeError, SyntaxError,
               RuntimeError, ImportError, EOFError, pickle.UnpicklingError,
               json.JSONDecodeError)
"""Exceptions that report bad input. Tools raise them with a message naming
the file, key or value and what was expected; ``TypeError`` and
``RuntimeError`` cover mmengine's "unexpected keyword argument" (a config
key typo) and torch's ``load_state_dict`` size mismatches."""

TRUST_ENV = 'MMREGION_TRUST_CHECKPOINTS'
"""Set to ``1`` by ``--trust-checkpoint`` (see :mod:`mmregion.fileio`)."""

QUIET_WARNINGS = ('pkg_resources is deprecated', )
"""Warnings of the environment, not of the user's input, that the tools
hide (mmengine imports ``pkg_resources`` to resolve ``mmdet::`` configs,
and setuptools >= 81 warns on every run)."""

_state = dict(debug=False)


class _DebugAction(argparse.Action):
    """``--debug``: show tracebacks instead of one-line errors."""

    def __call__(self, parser, namespace, values, option_string=None):
        _state['debug'] = True
        setattr(namespace, self.dest, True)


class _TrustAction(argparse.Action):
    """``--trust-checkpoint``: allow full unpickling in this process."""

    def __call__(self, parser, namespace, values, option_string=None):
        os.environ[TRUST_ENV] = '1'
        setattr(namespace, self.dest, True)


def add_cli_arguments(parser: argparse.ArgumentParser,
                      trust_checkpoint: bool = False
                      ) -> argparse.ArgumentParser:
    """Add ``--debug`` (and ``--trust-checkpoint``) to a tool's parser.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        trust_checkpoint (bool): Also add ``--trust-checkpoint``, for tools
            that load checkpoints. Defaults to False.

    Returns:
        argparse.ArgumentParser: ``parser``.
    """
    parser.add_argument(
        '--debug',
        nargs=0,
        action=_DebugAction,
        default=False,
        help='show the traceback of an error instead of one line')
    if trust_checkpoint:
        parser.add_argument(
            '--trust-checkpoint',
            nargs=0,
            action=_TrustAction,
            default=False,
            help='allow checkpoints that hold arbitrary pickled objects '
            f'(unpickling can run code; sets {TRUST_ENV}=1)')
    return parser


IMAGE_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.png', '.tif', '.tiff',
                    '.webp')
"""Files a folder input is searched for (as mmdet's inferencer)."""


def check_image_inputs(inputs: str) -> List[str]:
    """The images of an image file or folder, each checked to decode.

    Call it before building a model, so that a bad input stops the tool
    before anything is written.

    Args:
        inputs (str): An image file or a folder of images.

    Returns:
        list[str]: The image files, sorted.

    Raises:
        FileNotFoundError: If ``inputs`` does not exist.
        ValueError: If a folder has no images, or a file is empty or not
            a readable image.
    """
    import cv2
    if not os.path.exists(inputs):
        raise FileNotFoundError(f'{inputs}: no such image file or folder')
    if os.path.isdir(inputs):
        files = sorted(
            os.path.join(inputs, name) for name in os.listdir(inputs)
            if name.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise ValueError(f'{inputs}: the folder has no images (expected '
                             f'files ending in {", ".join(IMAGE_EXTENSIONS)})')
    else:
        files = [inputs]
    for path in files:
        if os.path.getsize(path) == 0:
            raise ValueError(f'{path}: the image file is empty')
        if not os.access(path, os.R_OK):
            raise PermissionError(f'{path}: the image file is not readable '
                                  f'(permission denied)')
        if cv2.imread(path, cv2.IMREAD_UNCHANGED) is None:
            raise ValueError(
                f'{path}: not a readable image (OpenCV cannot decode it; '
                f'expected {", ".join(IMAGE_EXTENSIONS)})')
    return files


def format_error(error: BaseException,
                 max_lines: int = MAX_LINES) -> List[str]:
    """The lines :func:`cli_main` prints for a user error.

    Args:
        error (BaseException): The exception.
        max_lines (int): Most lines to keep. Defaults to
            :data:`MAX_LINES`.

    Returns:
        list[str]: ``error: <message>`` and at most ``max_lines - 1``
        continuation lines (the last saying how many were cut).
    """
    if isinstance(error, KeyError) and len(error.args) == 1 and isinstance(
            error.args[0], str):
        message = error.args[0]  # str(KeyError) adds quotes
    else:
        message = str(error)
    if isinstance(error, OSError) and error.filename and (
            str(error.filename) not in message):
        message = f'{error.filename}: {message}'
    if not message.strip():
        message = type(error).__name__
    lines = [' '.join(line.split()) for line in message.splitlines()]
    lines = [line for line in lines if line] or [type(error).__name__]
    if len(lines) > max_lines:
        cut = len(lines) - (max_lines - 1)
        lines = lines[:max_lines - 1] + [f'... ({cut} more lines; --debug '
                                         f'shows everything)']
    return [f'error: {lines[0]}'] + [f'  {line}' for line in lines[1:]]


def cli_main(main: Callable[[], Any],
             argv: Optional[Sequence[str]] = None) -> None:
    """Run a tool's ``main``; on a user error print it and exit with 2.

    Returns normally when ``main`` does (the process then exits with 0).

    Args:
        main (Callable[[], Any]): The tool's entry point (it parses
            ``sys.argv`` itself).
        argv (Sequence[str], optional): Replaces ``sys.argv[1:]``, for
            tests. Defaults to None.
    """
    if argv is not None:
        sys.argv[1:] = list(argv)
    _state['debug'] = '--debug' in sys.argv[1:]
    for message in QUIET_WARNINGS:
        warnings.filterwarnings('ignore', message=message)
    try:
        main()
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        sys.exit(130)
    except USER_ERRORS as error:
        if _state['debug']:
            traceback.print_exc()
        else:
            print('\n'.join(format_error(error)), file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
