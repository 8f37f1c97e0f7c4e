"""Where model fits run: local processes by default, or a Dask distributed cluster.

Every search and ensemble in `core.models` runs its fits through joblib, so a
`joblib.parallel_config` around the call decides where they go and results do
not depend on it (every fit carries its own seed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache

import joblib
from threadpoolctl import ThreadpoolController

DASK_ENV = "PROCESSTWIN_DASK_SCHEDULER"


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


def one_thread_per_fit() -> AbstractContextManager:
    """Limit OpenMP to one thread inside a fit.

    The models are tiny, so parallelism comes from running many fits side by
    side; XGBoost's OpenMP threads would otherwise spin for most of each fit
    and, on a busy machine, cost several times the fit itself.
    """
    return _threadpools().limit(limits=1, user_api="openmp")


def scheduler_address(address: str | None = None) -> str | None:
    """The Dask scheduler to use: the one given, else $PROCESSTWIN_DASK_SCHEDULER, else None (local)."""
    return address or os.environ.get(DASK_ENV) or None


@contextmanager
def compute_backend(address: str | None = None, n_jobs: int = -1) -> Iterator[str]:
    """Run the joblib work inside on the Dask cluster at `address`, or on `n_jobs` local processes.

    Yields a short description of the backend for progress messages.
    """
    if address:
        from distributed import Client  # only needed when a cluster is used

        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            with joblib.parallel_config(backend="dask", n_jobs=-1):
                yield f"Dask cluster at {address} ({len(client.scheduler_info()['workers'])} workers)"
        finally:
            client.close()
    else:
        with joblib.parallel_config(backend="loky", n_jobs=n_jobs):
            yield f"local processes (n_jobs={n_jobs})"
