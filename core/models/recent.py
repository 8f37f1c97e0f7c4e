"""A small per-process store of work that depends only on a model's training rows and settings.

The augmentation study's α grid fits the same rows many times in a row with other row weights only; the
part of a fit that the weights do not touch (a GP's kernel search, the grey box's simulations and
calibration) is kept here for the next fit instead of being done again. Oldest entries go first."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


def rows_key(X: np.ndarray, y: np.ndarray, settings: Mapping[str, Any]) -> bytes:
    """A digest of the rows, the targets and the settings that shape the kept work."""
    digest = hashlib.blake2b(repr(sorted(settings.items())).encode(), digest_size=20)
    for a in (X, y):
        digest.update(repr(a.shape).encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.digest()


class RecentWork(Generic[T]):
    """The last `size` results of `make`, by key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: dict[bytes, T] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def get(self, key: bytes, make: Callable[[], T]) -> T:
        if (kept := self._kept.get(key)) is not None:
            return kept
        made = make()
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self.size:
                del self._kept[next(iter(self._kept))]
        return made
