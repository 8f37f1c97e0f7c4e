"""What the engineer asks of a design run: objectives, constraints, risk, profile types, algorithm settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from core.profiles import ThermocycleProfile
from core.seeding import SeedingBand

BATCH_TIME = "batch_time_min"
DOMAIN_MODES = ("strict", "off")
# The largest domain score a design may have under "strict" unless the engineer says otherwise. Chosen by the
# designs' true share of the simulator front's hypervolume on fresh campaigns (`bench_ground_truth.py
# --domain-limit 1 2 4 8 off`, README): at 8 as high as with no limit on almost every campaign and type, far
# above the domain's edge (1), while designs farther still, where a model extrapolating linearly finds corners of
# its own, stay out.
DEFAULT_DOMAIN_LIMIT = 8.0
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Objective:
    quantity: str  # a CQA name or "batch_time_min"
    sense: str  # "max" or "min"

    @classmethod
    def parse(cls, text: str) -> Objective:
        """`D50:max` -> Objective("D50", "max")."""
        name, _, sense = text.partition(":")
        if not name or sense not in ("max", "min"):
            raise ValueError(f'objective "{text}" must look like D50:max or DoA:min')
        return cls(name.strip(), sense)


@dataclass(frozen=True)
class Constraint:
    quantity: str
    op: str  # ">=" or "<="
    value: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """`crystallinity>=80` -> Constraint("crystallinity", ">=", 80.0)."""
        match = _CONSTRAINT.match(text)
        if not match:
            raise ValueError(f'constraint "{text}" must look like crystallinity>=80 or batch_time_min<=600')
        return cls(match.group(1), match.group(2), float(match.group(3)))

    def __str__(self) -> str:
        return f"{self.quantity} {self.op} {self.value:g}"


# The optimiser's (population, generations). A model that simulates every row (the grey-box family,
# `core.models.lab_residual`) costs 7-100 ms of CPU a row (`bench/bench_virtual_lab.py`) where the others cost
# microseconds: the default would simulate 100 000 runs for five profile types, the smaller budget about 4 000.
DEFAULT_BUDGET = (100, 200)
SIMULATING_BUDGET = (32, 25)


def default_budget(simulates: bool) -> tuple[int, int]:
    """Population and generations for models that do, or do not, simulate every row they predict."""
    return SIMULATING_BUDGET if simulates else DEFAULT_BUDGET


def named_quantities(objectives: Sequence[Objective], constraints: Sequence[Constraint]) -> list[str]:
    """The quantities a design's objectives and constraints name, each once, objectives first."""
    return list(dict.fromkeys([o.quantity for o in objectives] + [c.quantity for c in constraints]))


@dataclass(frozen=True)
class DesignSpec:
    """Settings of one design run; `n_temperatures` lists the profile types (2 = linear cooling, 2N+2 = N cycles)."""

    objectives: tuple[Objective, ...] = (Objective("D50", "max"), Objective("DoA", "min"))
    constraints: tuple[Constraint, ...] = ()
    risk_kappa: float = 0.0  # optimise mean - kappa*std (max) or mean + kappa*std (min)
    n_temperatures: tuple[int, ...] = (2, 4, 6, 8, 10)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)  # overrides of the schema's bounds
    # Where a batch starts (T1) and ends (the last set point). Without them a surrogate happily "designs"
    # batches that barely cool, far from every experiment; `data_temperature_ranges` gives data-based defaults.
    start_T: tuple[float, float] | None = None
    end_T: tuple[float, float] | None = None
    pop_size: int = DEFAULT_BUDGET[0]
    n_gen: int = DEFAULT_BUDGET[1]
    random_state: int = 0
    # "strict": designs must lie within `domain_limit` of the data in the models' applicability-domain score (a
    # constraint; the predict function must then report DOMAIN); "off": only reported. The app and `optimize`
    # default to strict.
    domain: str = "off"
    # Under "strict", the largest domain score a design may have: 1 is the domain's edge (`core.models.domain`);
    # a larger limit lets designs reach further beyond the experiments (flagged out of the domain past 1).
    domain_limit: float = DEFAULT_DOMAIN_LIMIT
    # T1 kept within the experiments' band around their T1-C0 line (`core.seeding`); None: free.
    # The app and `optimize` set it from the data.
    seeding: SeedingBand | None = None

    def __post_init__(self) -> None:
        if self.domain not in DOMAIN_MODES:
            raise ValueError(f"unknown domain setting {self.domain!r}; choose {' or '.join(DOMAIN_MODES)}")
        if len(self.objectives) < 1:
            raise ValueError("choose at least one objective")
        if not self.domain_limit > 0:
            raise ValueError("the domain limit must be positive")
        if self.risk_kappa < 0:
            raise ValueError("the risk factor kappa must be zero or positive")
        if self.pop_size < 4 or self.n_gen < 1:
            raise ValueError("population must be at least 4 and generations at least 1")
        if any(n < 2 for n in self.n_temperatures):
            raise ValueError("a profile has at least two set points")
        for name, rng in (("start", self.start_T), ("end", self.end_T)):
            if rng is not None and not rng[0] <= rng[1]:
                raise ValueError(f"the {name} temperature range must have low <= high")

    @property
    def quantities(self) -> list[str]:
        return named_quantities(self.objectives, self.constraints)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["bounds"] = {k: list(v) for k, v in self.bounds.items()}
        out["start_T"] = list(self.start_T) if self.start_T else None
        out["end_T"] = list(self.end_T) if self.end_T else None
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DesignSpec:
        return cls(
            objectives=tuple(Objective(**o) for o in d.get("objectives", [])) or cls.objectives,
            constraints=tuple(Constraint(**c) for c in d.get("constraints", [])),
            risk_kappa=float(d.get("risk_kappa", 0.0)),
            n_temperatures=tuple(int(n) for n in d.get("n_temperatures", (2, 4, 6, 8, 10))),
            bounds={k: (float(v[0]), float(v[1])) for k, v in d.get("bounds", {}).items()},
            start_T=_pair_or_none(d.get("start_T")),
            end_T=_pair_or_none(d.get("end_T")),
            pop_size=int(d.get("pop_size", DEFAULT_BUDGET[0])),
            n_gen=int(d.get("n_gen", DEFAULT_BUDGET[1])),
            random_state=int(d.get("random_state", 0)),
            domain=str(d.get("domain", "off")),
            domain_limit=float(d.get("domain_limit", 1.0)),  # saved before the limit existed: the domain's edge
            seeding=SeedingBand(**d["seeding"]) if d.get("seeding") else None,
        )


def n_temperatures_for_cycles(n_cycles: int) -> int:
    """Set points of an N-cycle profile: 2 for linear cooling, 2N+2 otherwise."""
    return 2 * n_cycles + 2


def check_profile_type(n_temperatures: int, max_cycles: int) -> None:
    """Refuse a profile type the schema has no columns for, in the engineer's terms (cycles, not set points)."""
    if not 2 <= n_temperatures <= n_temperatures_for_cycles(max_cycles):
        raise ValueError(
            f"a {n_temperatures // 2 - 1}-cycle profile does not fit the schema, which has columns for up to "
            f"{max_cycles} cycles"
        )


def _pair_or_none(value: object) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))  # type: ignore[index]


def cycles_within_data(profiles: Sequence[ThermocycleProfile]) -> tuple[int, ...]:
    """Cycle counts a design may have without heating up more often than any experiment did: 0 (linear cooling) up
    to the most heat-ups of a run. A profile with more is extrapolation in kind, and the applicability domain
    keeps its designs near the runs only by making the extra heat-ups vanishingly small."""
    most = max((len(p.heating_rates) for p in profiles), default=0)
    return tuple(range(most + 1))


def data_temperature_ranges(profiles: list[ThermocycleProfile]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Observed ranges of the start and the final temperature of the experiments."""
    starts = [p.temperatures[0] for p in profiles]
    ends = [p.temperatures[-1] for p in profiles]
    return (min(starts), max(starts)), (min(ends), max(ends))
