"""Deployment tooling: ONNX export, an onnxruntime runner, benchmarks.

Tooling layer: nothing in the core imports it. Needs the ``deploy`` extra
(``onnx``, ``onnxruntime``) for export and running.
"""
from .export import export_onnx, load_detector
from .swaps import DCNExportError, ExportError

__all__ = ['export_onnx', 'load_detector', 'ExportError', 'DCNExportError']
