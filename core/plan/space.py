"""A unit box per profile type in which every point decodes to a feasible profile (Eqs. 2-4, Table 2).

The acquisition optimiser works in [0, 1]^d with no constraints at all; the
decoder (in torch, for whole batches of candidates at once) builds the DoE
feature row:

* scalars (initial concentration, seed loading, extra schema inputs): ``lo + u (hi - lo)``;
* T1: within the start-temperature range;
* a cooling ramp: ``T' = T_min + u (T - T_min)`` so it never heats (Eq. 3);
* a heating ramp: ``T' = T + u (T_max - T)`` so it never cools (Eq. 2);
* the final set point, when an end-temperature range is given, within that range
  as far as the ramp's direction allows;
* rates: ``lo + u (hi - lo)``; every entry the type does not use is 0 (Eq. 4).

This is the same idea as `core.augment.encoding` (fractions per ramp), written
for a whole batch of tensors at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from core.doe.schema import Schema
from core.optimize.nsga2 import ArrayNSGA2
from core.optimize.problem import MIN_USED_T
from core.optimize.spec import check_profile_type
from core.profiles import ThermocycleProfile
from core.progress import Progress


class ProfileSpace:
    """The feasible unit box of one profile type with `n_temperatures` set points."""

    def __init__(
        self,
        schema: Schema,
        n_temperatures: int,
        start_T: tuple[float, float] | None = None,
        end_T: tuple[float, float] | None = None,
    ) -> None:
        check_profile_type(n_temperatures, schema.max_cycles)
        self.schema, self.n_temperatures = schema, n_temperatures
        bounds = schema.bounds
        t_lo, self.t_hi = bounds.get("T1", (0.0, 70.0))
        self.t_lo = max(t_lo, MIN_USED_T)
        self.start = _within(start_T, (self.t_lo, self.t_hi))
        self.end = _within(end_T, (self.t_lo, self.t_hi)) if end_T is not None else None
        self.scalars = schema.scalar_inputs
        missing = [n for n in self.scalars if n not in bounds]
        if missing:
            raise ValueError(f"inputs {', '.join(missing)} have no design bounds; give them in the schema")
        n_cool, n_heat = ThermocycleProfile.ramp_counts(n_temperatures)
        self.cooling = [f"C{i}" for i in range(1, n_cool + 1)]
        self.heating = [f"H{i}" for i in range(1, n_heat + 1)]
        self.names = [
            *self.scalars,
            "T1",
            *(f"ramp{k}" for k in range(1, n_temperatures)),
            *self.cooling,
            *self.heating,
        ]
        self._ranges = [bounds[n] for n in self.scalars] + [bounds[r] for r in self.cooling + self.heating]

    @property
    def dim(self) -> int:
        return len(self.names)

    def unit_bounds(self) -> torch.Tensor:
        return torch.stack([torch.zeros(self.dim), torch.ones(self.dim)]).double()

    def decode_tensor(self, U: torch.Tensor) -> torch.Tensor:
        """(..., dim) unit-box points -> (..., n_inputs) feature rows in the schema's input order."""
        U = U.clamp(0.0, 1.0)
        columns: dict[str, torch.Tensor] = {}
        n_sc = len(self.scalars)
        for j, name in enumerate(self.scalars):
            lo, hi = self._ranges[j]
            columns[name] = lo + U[..., j] * (hi - lo)
        temps = [self.start[0] + U[..., n_sc] * (self.start[1] - self.start[0])]
        for k in range(1, self.n_temperatures):
            u, prev = U[..., n_sc + k], temps[-1]
            cooling = k % 2 == 1
            if k == self.n_temperatures - 1 and self.end is not None:
                temps.append(self._final(prev, u, cooling))
            elif cooling:
                temps.append(self.t_lo + u * (prev - self.t_lo))
            else:
                temps.append(prev + u * (self.t_hi - prev))
        for k, t in enumerate(temps, start=1):
            columns[f"T{k}"] = t
        offset = n_sc + self.n_temperatures
        for j, name in enumerate(self.cooling + self.heating):
            lo, hi = self._ranges[n_sc + j]
            columns[name] = lo + U[..., offset + j] * (hi - lo)
        zero = torch.zeros_like(U[..., 0])
        return torch.stack([columns.get(n, zero) for n in self.schema.input_names], dim=-1)

    def _final(self, prev: torch.Tensor, u: torch.Tensor, cooling: bool) -> torch.Tensor:
        """The last set point inside the end range where the ramp's direction allows it, else as close as it can."""
        lo, hi = self.end  # type: ignore[misc]
        if cooling:
            top = torch.clamp(prev, max=hi)
            bottom = torch.minimum(torch.full_like(prev, lo), top)
        else:
            bottom = torch.clamp(prev, min=lo)
            top = torch.maximum(torch.full_like(prev, hi), bottom)
        return bottom + u * (top - bottom)

    def decode(self, U: np.ndarray) -> pd.DataFrame:
        """Feature rows (schema input columns) of unit-box points."""
        X = self.decode_tensor(torch.as_tensor(np.atleast_2d(U), dtype=torch.double)).numpy()
        return pd.DataFrame(X, columns=self.schema.input_names)


def _within(rng: tuple[float, float] | None, limits: tuple[float, float]) -> tuple[float, float]:
    if rng is None:
        return limits
    lo, hi = max(rng[0], limits[0]), min(rng[1], limits[1])
    if lo > hi:
        raise ValueError(f"the temperature range {rng[0]:g}-{rng[1]:g} °C lies outside the design space")
    return lo, hi


def spaces_for(
    schema: Schema,
    n_temperatures: Sequence[int],
    start_T: tuple[float, float] | None = None,
    end_T: tuple[float, float] | None = None,
) -> list[ProfileSpace]:
    return [ProfileSpace(schema, k, start_T, end_T) for k in n_temperatures]


def search_boxes(
    spaces: Sequence[ProfileSpace],
    evaluate: Callable[[list[np.ndarray]], list[tuple[np.ndarray, np.ndarray]]],
    pop_size: int,
    n_gen: int,
    seed: int,
    progress: Progress | None = None,
) -> list[ArrayNSGA2]:
    """NSGA-II over each type's unit box (type t seeded `seed + 31 t`), the types in step: `evaluate` gets every
    type's population of a generation at once, so that one batch of simulations or GP predictions serves them all,
    and gives each type's minimised objectives F and constraints G (<= 0)."""
    algos = [
        ArrayNSGA2(
            np.zeros(space.dim),
            np.ones(space.dim),
            pop_size,
            lambda n, rng, dim=space.dim: rng.random((n, dim)),
            lambda U: np.clip(U, 0.0, 1.0),
            seed=seed + 31 * t,
        )
        for t, space in enumerate(spaces)
    ]
    for generation in range(n_gen):
        if progress:
            progress(generation / n_gen, f"generation {generation + 1} of {n_gen}")
        for algo, (F, G) in zip(algos, evaluate([algo.ask() for algo in algos]), strict=True):
            algo.tell(F, G)
    return algos


def split_rows(values: np.ndarray, parts: Sequence[np.ndarray]) -> list[np.ndarray]:
    """`values` of the stacked `parts`, cut back into one block per part."""
    return np.split(values, np.cumsum([len(p) for p in parts])[:-1])
