"""Where the work runs: the synthetic-data study's own pool of worker processes."""

from __future__ import annotations

import os
import time

from joblib import Parallel, delayed

from core.models.scaleout import torch_workers


def pid_after_a_nap() -> int:
    time.sleep(0.1)  # long enough that both workers take tasks
    return os.getpid()


def worker_ids() -> set[int]:
    return set(Parallel(n_jobs=2)(delayed(pid_after_a_nap)() for _ in range(6)))


def test_torch_work_gets_workers_of_its_own_and_keeps_them_across_calls():
    fits = worker_ids()
    with torch_workers():
        study = worker_ids()
        assert worker_ids() == study  # one pool for the whole study
    assert len(study) == 2 and os.getpid() not in study and fits.isdisjoint(study)

    @torch_workers()
    def decorated() -> set[int]:
        return worker_ids()

    assert decorated() == decorated()
