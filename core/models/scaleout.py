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
TORCH_WORKERS_IDLE_S = 120  # torch and SDV hold about 200 MB per worker: let them go soon after the work


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


@contextmanager
def torch_workers() -> Iterator[None]:
    """Local worker processes of their own for work that imports torch and SDV (the synthetic-data study).

    Loky restarts a worker as leaking when its memory grows by more than 300 MB after its first task, and
    importing torch and SDV in a worker that fitted models first grows it by more: in the model fits' pool
    each worker would be restarted mid-study and import everything again. Loky keeps one pool per
    configuration, so a pool with its own idle timeout starts fresh workers whose first task already holds
    torch. Also a decorator.
    """
    with joblib.parallel_config(backend="loky", idle_worker_timeout=TORCH_WORKERS_IDLE_S):
        yield


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
