"""Every surrogate-data source by name: the three SDV generators and the virtual lab."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.augment.generators import GENERATORS, SyntheticGenerator
from core.augment.simulated import DEFAULTS as LAB_DEFAULTS
from core.augment.simulated import VirtualLabSource
from core.virtual_lab.transfer import SimulationCache

VIRTUAL_LAB = "virtual_lab"
SOURCES = (*GENERATORS, VIRTUAL_LAB)
LABELS = {**{name: kind.label for name, kind in GENERATORS.items()}, VIRTUAL_LAB: "virtual lab (simulated runs)"}


def check_source(name: str) -> str:
    if name not in SOURCES:
        raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(SOURCES)}")
    return name


def source_label(name: str) -> str:
    return LABELS.get(name, name)


def default_params(name: str) -> dict[str, Any]:
    return dict(LAB_DEFAULTS if name == VIRTUAL_LAB else GENERATORS[check_source(name)].defaults)


def make_source(
    name: str,
    params: Mapping[str, Any],
    random_state: int,
    scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
    cache: SimulationCache | None = None,
    n_jobs: int | None = 1,
) -> SyntheticGenerator | VirtualLabSource:
    """An unfitted source with `fit(X, y)` and `sample(n)`."""
    if check_source(name) == VIRTUAL_LAB:
        return VirtualLabSource(dict(params), random_state, scalar_bounds=scalar_bounds, cache=cache, n_jobs=n_jobs)
    return SyntheticGenerator(name, dict(params), random_state, scalar_bounds=scalar_bounds)
