"""A re-parametrisation of DoE rows in which every value decodes to a feasible profile.

Generators never see T1..T10 directly. They learn, per row, the number of set
points (a category), the start temperature and one fraction per ramp:

* cooling ramp k: ``T(k+1) = T(k) * f`` with f in (0, 1], so it never heats (Eq. 3);
* heating ramp k: ``T(k+1) = T(k) + f * (T_max - T(k))`` with f in [0, 1], so it
  never cools (Eq. 2) and never passes the upper bound.

Decoding clips each fraction, rate and scalar to its range (Table 2 and the
schema bounds), writes zeros after the last set point (Eq. 4) and so maps
*any* generated row to a feasible one: nothing is sampled and thrown away.
Unused fractions and rates are filled with the mean of the used ones so the
generator sees ordinary numbers instead of structural zeros.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.profiles import TABLE2_BOUNDS, Bounds, ThermocycleProfile

N_SETPOINTS = "n_setpoints"
MIN_COOL_FRACTION = 0.01  # keeps a used set point above 0 degC, which the sheet encoding reserves for "unused"


def max_cycles_of(input_names: Sequence[str]) -> int:
    n_temps = sum(1 for c in input_names if c.startswith("T") and c[1:].isdigit())
    return ThermocycleProfile.cycles_of(n_temps)


def _fraction_name(k: int) -> str:
    return f"ramp{k}_fraction"


class ProfileEncoding:
    """Two-way map between DoE rows (inputs + CQA) and the generator's feasible-by-construction table.

    `fit` only records column means for the unused entries; `encode` and
    `decode` are then pure functions of a frame.
    """

    def __init__(
        self,
        input_names: Sequence[str],
        cqa: str,
        bounds: Bounds = TABLE2_BOUNDS,
        scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.input_names = list(input_names)
        self.cqa = cqa
        self.bounds = bounds
        self.scalar_bounds = dict(scalar_bounds or {})

    @property
    def max_cycles(self) -> int:
        return max_cycles_of(self.input_names)

    def _profile_names(self) -> tuple[list[str], list[str], list[str]]:
        n = self.max_cycles
        return (
            [f"T{i}" for i in range(1, 2 * n + 3)],
            [f"C{i}" for i in range(1, n + 2)],
            [f"H{i}" for i in range(1, n + 1)],
        )

    def _scalars(self) -> list[str]:
        t, c, h = self._profile_names()
        profile = set(t) | set(c) | set(h)
        return [name for name in self.input_names if name not in profile]

    def _raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Latent values with NaN where a ramp or rate is not used."""
        t_cols, c_cols, h_cols = self._profile_names()
        t_max = self.bounds.T[1]
        rows = []
        for rec in frame[self.input_names].to_dict("records"):
            profile = ThermocycleProfile.from_features(rec, self.max_cycles)
            temps = profile.temperatures
            row = {name: rec[name] for name in self._scalars()}
            row[N_SETPOINTS] = str(len(temps))
            row["T1"] = temps[0]
            for k in range(1, len(t_cols)):
                value = np.nan
                if k < len(temps):
                    prev, new = temps[k - 1], temps[k]
                    if k % 2 == 1:  # cooling ramp
                        value = new / prev if prev > 0 else 1.0
                    else:
                        value = (new - prev) / (t_max - prev) if t_max > prev else 0.0
                row[_fraction_name(k)] = value
            for cols, rates in ((c_cols, profile.cooling_rates), (h_cols, profile.heating_rates)):
                for i, col in enumerate(cols):
                    row[col] = rates[i] if i < len(rates) else np.nan
            rows.append(row)
        out = pd.DataFrame(rows, index=frame.index)
        out[self.cqa] = frame[self.cqa].to_numpy(float)
        return out

    def fit(self, frame: pd.DataFrame) -> ProfileEncoding:
        raw = self._raw(frame)
        t_cols, c_cols, h_cols = self._profile_names()
        defaults = {}
        for k in range(1, len(t_cols)):
            defaults[_fraction_name(k)] = 0.5
        defaults |= {c: float(np.mean(self.bounds.C)) for c in c_cols}
        defaults |= {h: float(np.mean(self.bounds.H)) for h in h_cols}
        self.fill_ = {col: float(raw[col].mean()) if raw[col].notna().any() else d for col, d in defaults.items()}
        return self

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self._raw(frame).fillna(self.fill_)

    def decode(self, latent: pd.DataFrame) -> pd.DataFrame:
        """DoE rows (input names + CQA) from latent rows; every row is a feasible profile."""
        t_cols, c_cols, h_cols = self._profile_names()
        (t_lo, t_hi), (c_lo, c_hi), (h_lo, h_hi) = self.bounds.T, self.bounds.C, self.bounds.H
        rows = []
        for rec in latent.to_dict("records"):
            n_temps = int(np.clip(int(float(rec[N_SETPOINTS])), 2, len(t_cols)))
            temps = [float(np.clip(rec["T1"], max(t_lo, MIN_COOL_FRACTION), t_hi))]
            for k in range(1, n_temps):
                f = float(rec[_fraction_name(k)])
                prev = temps[-1]
                if k % 2 == 1:
                    temps.append(prev * float(np.clip(f, MIN_COOL_FRACTION, 1.0)))
                else:
                    temps.append(prev + float(np.clip(f, 0.0, 1.0)) * (t_hi - prev))
            n_cool, n_heat = ThermocycleProfile.ramp_counts(n_temps)
            cool = [float(np.clip(rec[c], c_lo, c_hi)) for c in c_cols[:n_cool]]
            heat = [float(np.clip(rec[h], h_lo, h_hi)) for h in h_cols[:n_heat]]
            row = ThermocycleProfile(tuple(temps), tuple(cool), tuple(heat)).to_features(self.max_cycles)
            for name in self._scalars():
                lo, hi = self.scalar_bounds.get(name, (-np.inf, np.inf))
                row[name] = float(np.clip(rec[name], lo, hi))
            row[self.cqa] = float(rec[self.cqa])
            rows.append(row)
        return pd.DataFrame(rows, columns=[*self.input_names, self.cqa])
