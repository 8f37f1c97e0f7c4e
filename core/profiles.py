"""Thermocycle temperature profiles (Barhate et al., 2025, Eqs. 2-4).

A profile is a start temperature followed by alternating cooling and heating
ramps: T1 -C1-> T2 -H1-> T3 -C2-> T4 ... A profile with N thermocycles uses
T1..T(2N+2), C1..C(N+1) and H1..HN. In a DoE row an unused segment is 0 (or
blank) and so is everything after it (Eq. 4), which is why a used temperature
of exactly 0 degC cannot be written in that encoding.

One `ThermocycleProfile` converts between the four views engineers use: the
feature row of a DoE sheet, a list of ramp segments, a time/temperature
setpoint series and a recipe table.

Equations, tables and bounds cited as Barhate et al. (2025) throughout the code are those of Barhate, Y.,
Kang, Y.S., Nazemifard, N., Renner, B., Yang, Y., Papageorgiou, C., Nagy, Z.K. (2025), "Data-driven digital
design of pharmaceutical crystallization processes", PSE Press.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_MAX_CYCLES = 4

# Table 2 of Barhate et al. (2025): the design space of the decision variables.
T_BOUNDS = (0.0, 70.0)  # degC
COOLING_RATE_BOUNDS = (0.05, 0.3)  # degC/min
HEATING_RATE_BOUNDS = (0.5, 1.0)  # degC/min

RECIPE_COLUMNS = ["step", "kind", "start_T", "end_T", "rate", "duration_min", "cumulative_min"]


def temperature_columns(max_cycles: int = DEFAULT_MAX_CYCLES) -> list[str]:
    return [f"T{i}" for i in range(1, 2 * max_cycles + 3)]


def cooling_columns(max_cycles: int = DEFAULT_MAX_CYCLES) -> list[str]:
    return [f"C{i}" for i in range(1, max_cycles + 2)]


def heating_columns(max_cycles: int = DEFAULT_MAX_CYCLES) -> list[str]:
    return [f"H{i}" for i in range(1, max_cycles + 1)]


def profile_columns(max_cycles: int = DEFAULT_MAX_CYCLES) -> list[str]:
    """Feature columns of a profile in sheet order: T1..T(2N+2), C1..C(N+1), H1..HN."""
    return temperature_columns(max_cycles) + cooling_columns(max_cycles) + heating_columns(max_cycles)


def profile_type_name(n_temperatures: int) -> str:
    """Human name of the profile type (Barhate et al., 2025, Table 1) from its number of set points."""
    if n_temperatures < 2:
        return "invalid"
    if n_temperatures == 2:
        return "linear cooling"
    if n_temperatures == 3:
        return "linear cool + heat"
    n_cycles = ThermocycleProfile.cycles_of(n_temperatures)
    name = f"{n_cycles} cycle" + ("s" if n_cycles > 1 else "")
    return name if n_temperatures % 2 == 0 else f"{name} + heat"


@dataclass(frozen=True)
class Segment:
    """One linear ramp. `rate` is a positive magnitude in degC/min."""

    start_T: float
    end_T: float
    rate: float

    @property
    def kind(self) -> str:
        return "heat" if self.end_T > self.start_T else "cool"

    @property
    def duration_min(self) -> float:
        return abs(self.end_T - self.start_T) / self.rate


@dataclass(frozen=True)
class Bounds:
    """Design-space bounds for the profile variables (Table 2 by default)."""

    T: tuple[float, float] = T_BOUNDS
    C: tuple[float, float] = COOLING_RATE_BOUNDS
    H: tuple[float, float] = HEATING_RATE_BOUNDS


TABLE2_BOUNDS = Bounds()


@dataclass(frozen=True)
class ThermocycleProfile:
    """Set-point temperatures and the ramp rates between them.

    `temperatures[k]` is T(k+1). Segment k (0-based) cools when k is even and
    heats when k is odd; cooling segment j uses `cooling_rates[j]`, heating
    segment j uses `heating_rates[j]`.
    """

    temperatures: tuple[float, ...]
    cooling_rates: tuple[float, ...] = field(default_factory=tuple)
    heating_rates: tuple[float, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperatures", tuple(float(t) for t in self.temperatures))
        object.__setattr__(self, "cooling_rates", tuple(float(c) for c in self.cooling_rates))
        object.__setattr__(self, "heating_rates", tuple(float(h) for h in self.heating_rates))
        if len(self.temperatures) < 2:
            raise ValueError("a profile needs at least a start and an end temperature")
        n_cool, n_heat = self.ramp_counts(len(self.temperatures))
        if len(self.cooling_rates) != n_cool or len(self.heating_rates) != n_heat:
            raise ValueError(
                f"{len(self.temperatures)} set points need {n_cool} cooling and {n_heat} heating "
                f"rates, got {len(self.cooling_rates)} and {len(self.heating_rates)}"
            )

    # -- segment counts --------------------------------------------------------
    @staticmethod
    def ramp_counts(n_temperatures: Any) -> tuple[Any, Any]:
        """Cooling and heating ramps between n set points: ramps alternate, the first one cools.

        Works on an int or elementwise on an integer array (n >= 1).
        """
        n_seg = n_temperatures - 1
        return (n_seg + 1) // 2, n_seg // 2

    @staticmethod
    def cycles_of(n_temperatures: int) -> int:
        """Complete heat-then-cool cycles after the first cooling ramp of a profile with n set points."""
        return max(0, (n_temperatures - 2) // 2)

    @classmethod
    def variable_names(cls, n_temperatures: int) -> list[str]:
        """The profile's variables in sheet order: T1..Tn, then its cooling rates C.., then its heating rates H.."""
        n_cool, n_heat = cls.ramp_counts(n_temperatures)
        return (
            [f"T{i}" for i in range(1, n_temperatures + 1)]
            + [f"C{i}" for i in range(1, n_cool + 1)]
            + [f"H{i}" for i in range(1, n_heat + 1)]
        )

    @classmethod
    def from_values(cls, values: Sequence[float], n_temperatures: int) -> ThermocycleProfile:
        """The profile from its set points, cooling rates and heating rates in one sequence (see `values`)."""
        n_cool, _ = cls.ramp_counts(n_temperatures)
        rates = values[n_temperatures:]
        return cls(tuple(values[:n_temperatures]), tuple(rates[:n_cool]), tuple(rates[n_cool:]))

    def values(self) -> tuple[float, ...]:
        """Set points, then cooling rates, then heating rates: the order of `variable_names`."""
        return (*self.temperatures, *self.cooling_rates, *self.heating_rates)

    # -- descriptors -------------------------------------------------------
    @property
    def n_cycles(self) -> int:
        """Complete heat-then-cool cycles after the first cooling ramp."""
        return self.cycles_of(len(self.temperatures))

    @property
    def type_name(self) -> str:
        return profile_type_name(len(self.temperatures))

    @property
    def batch_time_min(self) -> float:
        return float(sum(s.duration_min for s in self.segments()))

    def descriptors(
        self,
        max_cycles: int = DEFAULT_MAX_CYCLES,
        initial_concentration: float | None = None,
        solubility: SolubilityCurve | None = None,
    ) -> dict[str, float]:
        """The shared descriptors (`descriptor_names`) of this profile, computed by `descriptor_matrix`."""
        row = self.to_features(max(max_cycles, self.n_cycles))
        n = max(max_cycles, self.n_cycles)
        pick = [[row[c] for c in cols] for cols in (temperature_columns(n), cooling_columns(n), heating_columns(n))]
        c0 = None if initial_concentration is None else np.array([initial_concentration], float)
        values = descriptor_matrix(*(np.array([p]) for p in pick), c0, solubility)[0]
        return dict(zip(descriptor_names(n, solubility is not None), values.tolist(), strict=True))

    # -- segments ----------------------------------------------------------
    def segments(self) -> list[Segment]:
        temps, out = self.temperatures, []
        for k in range(len(temps) - 1):
            rate = self.cooling_rates[k // 2] if k % 2 == 0 else self.heating_rates[k // 2]
            out.append(Segment(temps[k], temps[k + 1], rate))
        return out

    @classmethod
    def from_segments(cls, segments: Sequence[Segment]) -> ThermocycleProfile:
        if not segments:
            raise ValueError("no segments")
        for a, b in itertools.pairwise(segments):
            if not math.isclose(a.end_T, b.start_T, rel_tol=0, abs_tol=1e-9):
                raise ValueError(f"segments are not continuous: {a.end_T} then {b.start_T}")
        temps = [segments[0].start_T] + [s.end_T for s in segments]
        return cls(tuple(temps), tuple(s.rate for s in segments[0::2]), tuple(s.rate for s in segments[1::2]))

    # -- feature rows (DoE encoding) ----------------------------------------
    def to_features(self, max_cycles: int = DEFAULT_MAX_CYCLES) -> dict[str, float]:
        """DoE feature row; unused trailing entries are 0 (Eq. 4)."""
        if len(self.temperatures) > 2 * max_cycles + 2:
            raise ValueError(f"profile has {self.n_cycles} cycles; the sheet allows {max_cycles}")
        row: dict[str, float] = {}
        for cols, values in (
            (temperature_columns(max_cycles), self.temperatures),
            (cooling_columns(max_cycles), self.cooling_rates),
            (heating_columns(max_cycles), self.heating_rates),
        ):
            row.update({c: (values[i] if i < len(values) else 0.0) for i, c in enumerate(cols)})
        return row

    @classmethod
    def from_features(cls, row: Mapping[str, float], max_cycles: int = DEFAULT_MAX_CYCLES) -> ThermocycleProfile:
        """Read a feature row: the profile ends at the first blank/0 temperature.

        Raises ValueError when the row is not a profile (fewer than two set
        points, or a used segment without its rate); `check_features` says why
        in more detail.
        """
        temps = _used_prefix([row.get(c) for c in temperature_columns(max_cycles)])
        n_cool, n_heat = cls.ramp_counts(max(len(temps), 1))
        cool = _used_prefix([row.get(c) for c in cooling_columns(max_cycles)])[:n_cool]
        heat = _used_prefix([row.get(c) for c in heating_columns(max_cycles)])[:n_heat]
        return cls(tuple(temps), tuple(cool), tuple(heat))

    # -- setpoint series -----------------------------------------------------
    def setpoints(self, resolution_min: float = 1.0) -> pd.DataFrame:
        """Setpoint series on a regular grid, with every ramp end added exactly.

        Including the breakpoints keeps the series a lossless description of
        the profile (see `from_setpoints`).
        """
        if resolution_min <= 0:
            raise ValueError("resolution must be positive")
        ends = np.concatenate([[0.0], np.cumsum([s.duration_min for s in self.segments()])])
        grid = np.arange(0.0, ends[-1], resolution_min)
        times = np.union1d(grid, ends)
        temps = np.interp(times, ends, np.asarray(self.temperatures))
        # np.interp is exact at the breakpoints; set them explicitly anyway.
        idx = np.searchsorted(times, ends)
        temps[idx] = self.temperatures
        return pd.DataFrame({"time_min": times, "T_setpoint": temps})

    @classmethod
    def from_setpoints(cls, series: pd.DataFrame) -> ThermocycleProfile:
        """Recover the profile from a setpoint series that contains its breakpoints."""
        t = series["time_min"].to_numpy(float)
        temp = series["T_setpoint"].to_numpy(float)
        if len(t) < 2 or np.any(np.diff(t) <= 0):
            raise ValueError("setpoint times must increase")
        direction = np.sign(np.diff(temp))
        keep = [0]
        for k in range(1, len(direction)):
            if direction[k] != direction[k - 1] and direction[k] != 0:
                keep.append(k)
        keep.append(len(t) - 1)
        segments = []
        for a, b in itertools.pairwise(keep):
            dT, dt = temp[b] - temp[a], t[b] - t[a]
            segments.append(Segment(temp[a], temp[b], _round_rate(abs(dT) / dt)))
        if segments[0].kind != "cool":
            raise ValueError("a profile starts with a cooling ramp")
        return cls.from_segments(segments)

    # -- recipe table --------------------------------------------------------
    def recipe_table(self) -> pd.DataFrame:
        rows, cumulative = [], 0.0
        for k, s in enumerate(self.segments(), start=1):
            cumulative += s.duration_min
            rows.append([k, s.kind, s.start_T, s.end_T, s.rate, s.duration_min, cumulative])
        return pd.DataFrame(rows, columns=RECIPE_COLUMNS)

    @classmethod
    def from_recipe_table(cls, table: pd.DataFrame) -> ThermocycleProfile:
        ordered = table.sort_values("step")
        return cls.from_segments(
            [Segment(float(r.start_T), float(r.end_T), float(r.rate)) for r in ordered.itertuples()]
        )

    # -- feasibility -----------------------------------------------------------
    def order_violations(self) -> list[str]:
        """Plain-words reasons why the ramps break Eqs. 2-3 (cool down, then heat up)."""
        problems = []
        for k, s in enumerate(self.segments()):
            a, b = f"T{k + 1}", f"T{k + 2}"
            if k % 2 == 0 and s.end_T > s.start_T:
                problems.append(f"{b} = {s.end_T:g} must not exceed {a} = {s.start_T:g} (cooling ramp, Eq. 3)")
            if k % 2 == 1 and s.end_T < s.start_T:
                problems.append(f"{b} = {s.end_T:g} must not be below {a} = {s.start_T:g} (heating ramp, Eq. 2)")
        return problems

    def bound_violations(self, bounds: Bounds = TABLE2_BOUNDS) -> list[tuple[str, str]]:
        """(column, message) for every set point or rate outside the design space."""
        problems = []
        for names, values, (lo, hi), unit in (
            ("T", self.temperatures, bounds.T, "°C"),
            ("C", self.cooling_rates, bounds.C, "°C/min"),
            ("H", self.heating_rates, bounds.H, "°C/min"),
        ):
            for i, v in enumerate(values, start=1):
                if not lo <= v <= hi:
                    problems.append((f"{names}{i}", f"{names}{i} = {v:g} {unit} is outside [{lo:g}, {hi:g}]"))
        return problems

    def violations(self, bounds: Bounds = TABLE2_BOUNDS) -> list[str]:
        """Everything that makes the profile infeasible: Eqs. 2-3 and the bounds."""
        return self.order_violations() + [m for _, m in self.bound_violations(bounds)]

    def is_feasible(self, bounds: Bounds = TABLE2_BOUNDS) -> bool:
        return not self.violations(bounds)


def evenly_cycled(
    t_start: float, t_end: float, n_cycles: int, cool: float, heat: float, lift: float
) -> ThermocycleProfile:
    """A controlled design: lows evenly spaced from t_start to t_end, each heat-up climbing `lift` of the way
    back to the last top, one cooling and one heating rate throughout (0 cycles: linear cooling)."""
    temps, top = [t_start], t_start
    for k in range(1, n_cycles + 1):
        low = t_start - (t_start - t_end) * k / (n_cycles + 1)
        temps += [low, low + lift * (top - low)]
        top = temps[-1]
    temps.append(t_end)
    return ThermocycleProfile(tuple(temps), (cool,) * (n_cycles + 1), (heat,) * n_cycles)


def _is_unused(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == 0


def _used_prefix(values: Sequence[object]) -> list[float]:
    out = []
    for v in values:
        if _is_unused(v):
            break
        out.append(float(v))  # type: ignore[arg-type]
    return out


def _round_rate(rate: float) -> float:
    """Undo the last-bit error of duration = dT / rate followed by rate = dT / duration."""
    return float(f"{rate:.12g}")


def check_features(row: Mapping[str, object], max_cycles: int = DEFAULT_MAX_CYCLES) -> list[tuple[str, str]]:
    """(column, message) pairs for a feature row that breaks Eq. 4's structure.

    Checks that set points stop at the first unused one, that every used ramp
    has its rate and that no rate is given for a ramp that does not exist.
    """
    problems: list[tuple[str, str]] = []
    t_cols = temperature_columns(max_cycles)
    n_temps = len(_used_prefix([row.get(c) for c in t_cols]))
    if n_temps < 2:
        problems.append((t_cols[min(n_temps, 1)], "a profile needs a start temperature T1 and an end temperature T2"))
    for c in t_cols[n_temps + 1 :]:
        if not _is_unused(row.get(c)):
            problems.append(
                (c, f"{c} is set after the unused {t_cols[n_temps]}; everything after it must be blank or 0")
            )
    n_cool, n_heat = ThermocycleProfile.ramp_counts(max(n_temps, 1))
    for cols, n_needed, kind in (
        (cooling_columns(max_cycles), n_cool, "cooling"),
        (heating_columns(max_cycles), n_heat, "heating"),
    ):
        for i, c in enumerate(cols):
            used = not _is_unused(row.get(c))
            if i < n_needed and not used:
                problems.append((c, f"the {kind} ramp {c} is needed by the set points but is blank or 0"))
            if i >= n_needed and used:
                problems.append((c, f"{c} is given but the profile has no {kind} ramp {i + 1}; leave it blank or 0"))
    return problems


# -- shared descriptors --------------------------------------------------------
# Every profile type fills the raw columns differently (unused segments are 0),
# so a 4-cycle run and a linear one share almost no raw coordinates. These
# descriptors mean the same thing for every type, which lets a model carry what
# it learned on one type over to another.
BASE_DESCRIPTORS = (
    "n_cycles",
    "batch_time_min",
    "T_start",
    "T_min",
    "T_end",
    "cooling_amplitude",
    "heating_amplitude",
    "cooling_time_min",
    "heating_time_min",
    "cooling_rate_mean",
    "cooling_rate_min",
    "cooling_rate_max",
    "heating_rate_mean",
)
SOLUBILITY_DESCRIPTORS = ("supersaturation_initial", "time_above_saturation_min", "redissolved_mass")
CONCENTRATION_COLUMN = "initial_concentration"


def redissolution_columns(max_cycles: int = DEFAULT_MAX_CYCLES) -> list[str]:
    """Depth (heat-up amplitude, degC) of each re-dissolution, in heating-ramp order."""
    return [f"redissolution_{j}" for j in range(1, max_cycles + 1)]


@dataclass(frozen=True)
class SolubilityCurve:
    """c*(T) from a few measured (T, c*) points: log c* is interpolated linearly in T.

    The log makes the usual van 't Hoff shape exact between points; outside the
    measured range the end values are held (no extrapolation).
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        pts = tuple(sorted((float(t), float(c)) for t, c in self.points))
        if len(pts) < 2:
            raise ValueError("a solubility curve needs at least two (T, c*) points")
        if any(c <= 0 for _, c in pts):
            raise ValueError("solubilities must be positive")
        if any(a[0] == b[0] for a, b in itertools.pairwise(pts)):
            raise ValueError("solubility points need distinct temperatures")
        if any(b[1] < a[1] for a, b in itertools.pairwise(pts)):
            raise ValueError("solubility must not fall with temperature")
        object.__setattr__(self, "points", pts)

    def __call__(self, T: np.ndarray | float) -> np.ndarray:
        t, c = np.array(self.points).T
        return np.exp(np.interp(T, t, np.log(c)))

    def saturation_temperature(self, c: np.ndarray | float) -> np.ndarray:
        """Temperature at which `c` is saturated (clamped to the measured range)."""
        t, cs = np.array(self.points).T
        return np.interp(np.log(np.asarray(c, float)), np.log(cs), t)


def descriptor_names(max_cycles: int = DEFAULT_MAX_CYCLES, solubility: bool = False) -> list[str]:
    return [*BASE_DESCRIPTORS, *redissolution_columns(max_cycles), *(SOLUBILITY_DESCRIPTORS if solubility else ())]


def descriptor_matrix(
    T: np.ndarray,
    C: np.ndarray,
    H: np.ndarray,
    initial_concentration: np.ndarray | None = None,
    solubility: SolubilityCurve | None = None,
) -> np.ndarray:
    """Descriptors of many profiles at once from their raw DoE columns.

    T (rows, 2N+2), C (rows, N+1), H (rows, N) in the Eq. 4 encoding: a profile
    ends at its first 0 or NaN set point. Columns follow `descriptor_names(N,
    solubility is not None)`. Rows that are not profiles (fewer than two set
    points, a used ramp without a rate) give NaN; vectorised so the optimiser
    can describe whole populations per generation.
    """
    T, C, H = (np.atleast_2d(np.asarray(a, float)) for a in (T, C, H))
    n, n_temps = T.shape
    max_cycles = (n_temps - 2) // 2
    if C.shape != (n, max_cycles + 1) or H.shape != (n, max_cycles):
        raise ValueError(f"{n_temps} set-point columns need {max_cycles + 1} cooling and {max_cycles} heating columns")
    used_T = np.cumprod(np.nan_to_num(T) != 0, axis=1).astype(bool)
    n_used = used_T.sum(axis=1)
    seg_used = used_T[:, 1:]  # segment k runs from T(k+1) to T(k+2)
    rates = np.empty((n, n_temps - 1))
    rates[:, 0::2], rates[:, 1::2] = C, H
    dT = np.where(seg_used, np.diff(np.nan_to_num(T), axis=1), 0.0)
    valid = (n_used >= 2) & ~np.any(seg_used & ~(np.nan_to_num(rates) > 0), axis=1)
    safe_rates = np.where(seg_used & (np.nan_to_num(rates) > 0), rates, 1.0)
    duration = np.where(seg_used, np.abs(dT) / safe_rates, 0.0)
    cool = np.zeros(n_temps - 1, bool)
    cool[0::2] = True
    cool_used, heat_used = seg_used & cool, seg_used & ~cool
    with np.errstate(invalid="ignore", divide="ignore"):
        cool_amp = np.where(cool_used, np.abs(dT), 0.0).sum(axis=1)
        heat_amp = np.where(heat_used, np.abs(dT), 0.0).sum(axis=1)
        cool_time = np.where(cool_used, duration, 0.0).sum(axis=1)
        heat_time = np.where(heat_used, duration, 0.0).sum(axis=1)
        cool_rates = np.where(cool_used, rates, np.nan)[:, 0::2]
        has_cool = cool_used.any(axis=1)
        columns = [
            np.maximum(0, (n_used - 2) // 2),
            cool_time + heat_time,
            T[:, 0],
            np.where(used_T, T, np.inf).min(axis=1),
            np.take_along_axis(T, np.maximum(n_used - 1, 0)[:, None], axis=1)[:, 0],
            cool_amp,
            heat_amp,
            cool_time,
            heat_time,
            # time-weighted mean rate; the plain mean when every cooling ramp has zero length
            np.where(
                cool_time > 0, cool_amp / cool_time, np.nanmean(np.where(has_cool[:, None], cool_rates, 0.0), axis=1)
            ),
            np.where(has_cool, np.fmin.reduce(cool_rates, axis=1), np.nan),
            np.where(has_cool, np.fmax.reduce(cool_rates, axis=1), np.nan),
            np.where(heat_time > 0, heat_amp / heat_time, 0.0),
            *(np.where(heat_used[:, k], dT[:, k], 0.0) for k in range(1, n_temps - 1, 2)),
        ]
        if solubility is not None:
            if initial_concentration is None:
                raise ValueError("supersaturation descriptors need the initial concentration")
            columns += _solubility_columns(T, dT, safe_rates, seg_used, heat_used, initial_concentration, solubility)
    out = np.column_stack(columns).astype(float)
    out[~valid] = np.nan
    return out


def _solubility_columns(
    T: np.ndarray,
    dT: np.ndarray,
    rates: np.ndarray,
    seg_used: np.ndarray,
    heat_used: np.ndarray,
    c0: np.ndarray,
    curve: SolubilityCurve,
) -> list[np.ndarray]:
    """Initial supersaturation c0/c*(T1); minutes above the saturation temperature of c0 (the
    solution could hold everything); solute the heat-ups can re-dissolve, assuming the liquor is
    saturated at each valley: c*(peak) - c*(valley), capped at what has crystallised, c0 - c*(valley)."""
    c0 = np.asarray(c0, float).reshape(-1)
    T = np.nan_to_num(T)
    t_sat = curve.saturation_temperature(c0)[:, None]
    lo, hi = np.minimum(T[:, :-1], T[:, 1:]), np.maximum(T[:, :-1], T[:, 1:])
    above = np.where(seg_used, np.clip(hi - np.maximum(lo, t_sat), 0.0, None) / rates, 0.0).sum(axis=1)
    valley, peak = curve(T[:, :-1]), curve(T[:, 1:])
    dissolved = np.minimum(peak - valley, np.clip(c0[:, None] - valley, 0.0, None))
    redissolved = np.where(heat_used, dissolved, 0.0).sum(axis=1)
    return [c0 / curve(T[:, 0]), above, redissolved]


def descriptor_frame(
    X: pd.DataFrame, max_cycles: int | None = None, solubility: SolubilityCurve | None = None
) -> pd.DataFrame:
    """A DoE input frame in canonical columns turned into the shared descriptors.

    Non-profile inputs (initial concentration, seed loading, extra inputs) are
    kept in front, in their order; the raw T/C/H columns are replaced by
    `descriptor_names(max_cycles)`. `max_cycles` defaults to what the T columns hold.
    """
    if max_cycles is None:
        max_cycles = ThermocycleProfile.cycles_of(sum(1 for c in X.columns if _is_column(c, "T")))
    t_cols, c_cols, h_cols = temperature_columns(max_cycles), cooling_columns(max_cycles), heating_columns(max_cycles)
    raw = [*t_cols, *c_cols, *h_cols]
    missing = [c for c in raw if c not in X.columns]
    if missing:
        raise ValueError(f"the rows have no profile column {', '.join(missing)}")
    c0 = None
    if solubility is not None:
        if CONCENTRATION_COLUMN not in X.columns:
            raise ValueError(f"supersaturation descriptors need the {CONCENTRATION_COLUMN} column")
        c0 = X[CONCENTRATION_COLUMN].to_numpy(float)
    values = descriptor_matrix(
        X[t_cols].to_numpy(float), X[c_cols].to_numpy(float), X[h_cols].to_numpy(float), c0, solubility
    )
    keep = [c for c in X.columns if c not in set(raw)]
    desc = pd.DataFrame(values, index=X.index, columns=descriptor_names(max_cycles, solubility is not None))
    return pd.concat([X[keep].astype(float), desc], axis=1)


def profile_max_cycles(input_names: Sequence[str]) -> int | None:
    """Cycles the inputs encode, or None when they lack a complete profile block."""
    n_temps = sum(1 for c in input_names if _is_column(c, "T"))
    if n_temps < 2:
        return None
    n = ThermocycleProfile.cycles_of(n_temps)
    names = set(input_names)
    needed = [*temperature_columns(n), *cooling_columns(n), *heating_columns(n)]
    return n if all(c in names for c in needed) else None


def _is_column(name: object, letter: str) -> bool:
    text = str(name)
    return text.startswith(letter) and text[1:].isdigit()
