"""One torch thread for work on tiny tensors.

The planning GPs (tens of runs) and the reactor planners' networks are small:
thread start-up and contention cost more than a second thread saves. On a busy
2-core machine a shooting-MPC decision took 12 s with two threads against 0.2 s
with one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one thread inside, as it was set outside afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
