from .atomic_local_backend import AtomicLocalBackend
from .hooks import AtomicCheckpointHook, RNGStateHook

__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'RNGStateHook']
