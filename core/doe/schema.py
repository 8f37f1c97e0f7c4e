"""What the columns of a DoE sheet mean: roles, units, bounds and header aliases.

The default schema is the template of Barhate et al. (2025) (Table 2 bounds, up to four
thermocycles). A JSON schema file maps arbitrary headers onto these names, adds
inputs or CQAs, changes bounds and the number of cycles; see README.md.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.profiles import (
    COOLING_RATE_BOUNDS,
    DEFAULT_MAX_CYCLES,
    HEATING_RATE_BOUNDS,
    T_BOUNDS,
    TABLE2_BOUNDS,
    Bounds,
    SolubilityCurve,
    ThermocycleProfile,
    cooling_columns,
    heating_columns,
    profile_columns,
    temperature_columns,
)

INF = math.inf


class SchemaError(ValueError):
    """A schema file that cannot be used, with a plain-words reason."""


@dataclass(frozen=True)
class Variable:
    """One modelled column.

    `bounds` is the design space (values outside are a warning, and designs may then go as far as the
    experiments did: `Schema.covering`); `limits` is what is physically possible (outside is an error).
    """

    name: str
    role: str  # "input" or "cqa"
    unit: str = ""
    description: str = ""
    bounds: tuple[float, float] | None = None
    limits: tuple[float, float] = (-INF, INF)
    aliases: tuple[str, ...] = ()
    profile: bool = False  # part of the thermocycle encoding (blank or 0 = unused)


MAX_SCHEMA_CYCLES = 10  # the most cycles a schema file may ask for


def used_range(inputs: pd.DataFrame, columns: Sequence[str], unused_zero: bool = True) -> tuple[float, float] | None:
    """The lowest and highest value of the columns that `inputs` has, NaN (and 0 where 0 means unused) left out."""
    values = inputs[[c for c in columns if c in inputs]].to_numpy(float).ravel()
    values = values[np.isfinite(values) & ((values != 0) if unused_zero else True)]
    return (float(values.min()), float(values.max())) if values.size else None


def spanning(bounds: tuple[float, float], seen: tuple[float, float] | None) -> tuple[float, float]:
    """`bounds` widened to take in the range of values `seen` (None: nothing seen)."""
    return bounds if seen is None else (min(bounds[0], seen[0]), max(bounds[1], seen[1]))


def normalise_header(header: object) -> str:
    """Compare headers by letters and digits only, ignoring case and any bracketed unit.

    NFKC folds look-alikes first, so `D₅₀ (µm)` and `d50` compare equal.
    """
    text = unicodedata.normalize("NFKC", str(header)).lower()
    text = re.sub(r"[\(\[\{].*?[\)\]\}]", " ", text)
    return re.sub(r"[^0-9a-z]", "", text)


def _profile_variables(max_cycles: int, bounds: Bounds) -> list[Variable]:
    out = []
    for i, name in enumerate(temperature_columns(max_cycles), start=1):
        out.append(
            Variable(
                name,
                "input",
                "°C",
                f"set point {i} of the temperature profile",
                bounds.T,
                (-50.0, 200.0),
                (f"temp{i}", f"temperature{i}", f"tset{i}"),
                True,
            )
        )
    for i, name in enumerate(cooling_columns(max_cycles), start=1):
        out.append(
            Variable(
                name,
                "input",
                "°C/min",
                f"cooling rate of cooling ramp {i} (T{2 * i - 1} to T{2 * i})",
                bounds.C,
                (0.0, 20.0),
                (f"coolingrate{i}", f"cr{i}", f"cool{i}"),
                True,
            )
        )
    for i, name in enumerate(heating_columns(max_cycles), start=1):
        out.append(
            Variable(
                name,
                "input",
                "°C/min",
                f"heating rate of heating ramp {i} (T{2 * i} to T{2 * i + 1})",
                bounds.H,
                (0.0, 20.0),
                (f"heatingrate{i}", f"hr{i}", f"heat{i}"),
                True,
            )
        )
    return out


DEFAULT_SCALARS = (
    Variable(
        "initial_concentration",
        "input",
        "mg/g solvent",
        "solute concentration at the start of the batch",
        (24.8, 55.2),
        (0.0, INF),
        ("c0", "conc0", "concentration", "initialconc", "startconcentration", "cinit"),
    ),
    Variable(
        "seed_loading",
        "input",
        "mass fraction",
        "seed mass per mass of solute",
        (0.05, 0.15),
        (0.0, 1.0),
        ("seed", "seeds", "seedload", "seedmassfraction", "seedfraction"),
    ),
)

DEFAULT_CQAS = (
    Variable("D50", "cqa", "µm", "volume median particle size", None, (0.0, INF), ("dv50", "x50", "mediansize")),
    Variable(
        "DoA",
        "cqa",
        "%",
        "degree of agglomeration",
        None,
        (0.0, 100.0),
        ("degreeofagglomeration", "agglomeration", "agglomerationdegree"),
    ),
    Variable("crystallinity", "cqa", "%", "crystalline share of the solid", None, (0.0, 100.0), ("cryst", "xc")),
)


@dataclass(frozen=True)
class Schema:
    """The modelled columns of a DoE sheet, in model order, plus header overrides."""

    variables: tuple[Variable, ...]
    max_cycles: int = DEFAULT_MAX_CYCLES
    column_map: dict[str, str | None] = field(default_factory=dict)  # normalised header -> name (None: not modelled)
    # optional (T degC, c* in initial-concentration units) points: adds supersaturation descriptors
    solubility: tuple[tuple[float, float], ...] | None = None

    @classmethod
    def default(cls, max_cycles: int = DEFAULT_MAX_CYCLES, bounds: Bounds = TABLE2_BOUNDS) -> Schema:
        variables = (*DEFAULT_SCALARS, *_profile_variables(max_cycles, bounds), *DEFAULT_CQAS)
        return cls(variables, max_cycles)

    # -- views -----------------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        return [v.name for v in self.variables if v.role == "input"]

    @property
    def cqa_names(self) -> list[str]:
        return [v.name for v in self.variables if v.role == "cqa"]

    @property
    def profile_names(self) -> list[str]:
        return profile_columns(self.max_cycles)

    @property
    def scalar_inputs(self) -> list[str]:
        """The inputs that are not part of the thermocycle profile (initial concentration, seed loading, ...)."""
        profile = set(self.profile_names)
        return [n for n in self.input_names if n not in profile]

    def feature_row(self, profile: ThermocycleProfile, scalars: Mapping[str, float]) -> dict[str, float]:
        """The model inputs of one run: its scalar inputs and its profile (unused profile entries 0, Eq. 4)."""
        return dict.fromkeys(self.input_names, 0.0) | dict(scalars) | profile.to_features(self.max_cycles)

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        return {v.name: v.bounds for v in self.variables if v.role == "input" and v.bounds is not None}

    def covering(self, inputs: pd.DataFrame) -> Schema:
        """This schema with each input's design bounds widened to take in the experiments' values beyond them.

        A run that was made is a feasible operating point, and the template's bounds (Table 2) belong to the
        method paper's compound: another compound's runs may start hotter or more concentrated. Profile variables
        widen by kind (every set point to the lowest and highest used set point, and so on); unused entries
        (blank or 0, Eq. 4) do not count."""
        seen = {kind: used_range(inputs, [n for n in self.profile_names if n[0] == kind]) for kind in "TCH"}
        seen.update({n: used_range(inputs, [n], unused_zero=False) for n in self.scalar_inputs})

        def widened(v: Variable) -> Variable:
            if v.role != "input" or v.bounds is None:
                return v
            return replace(v, bounds=spanning(v.bounds, seen.get(v.name[0] if v.profile else v.name)))

        return replace(self, variables=tuple(widened(v) for v in self.variables))

    @property
    def profile_bounds(self) -> Bounds:
        b = self.bounds
        return Bounds(T=b.get("T1", T_BOUNDS), C=b.get("C1", COOLING_RATE_BOUNDS), H=b.get("H1", HEATING_RATE_BOUNDS))

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    def match(self, header: object) -> str | None:
        """The variable a sheet header holds, or None for a column that is kept but not modelled."""
        key = normalise_header(header)
        if not key:
            return None
        if key in self.column_map:
            return self.column_map[key]
        for v in self.variables:
            if key == normalise_header(v.name) or key in v.aliases:
                return v.name
        return None

    def to_spec(self) -> dict[str, Any]:
        """A schema-file dict that rebuilds this schema for data in canonical column names."""
        default = {v.name for v in Schema.default(self.max_cycles).variables}
        extra = [v for v in self.variables if v.name not in default]

        def describe(v: Variable) -> dict[str, Any]:
            item: dict[str, Any] = {"name": v.name, "unit": v.unit, "description": v.description}
            if v.bounds:
                item["bounds"] = list(v.bounds)
            if all(math.isfinite(x) for x in v.limits):
                item["limits"] = list(v.limits)
            return item

        spec: dict[str, Any] = {
            "max_cycles": self.max_cycles,
            "bounds": {v.name: list(v.bounds) for v in self.variables if v.name in default and v.bounds},
            "inputs": [describe(v) for v in extra if v.role == "input"],
            "cqas": [describe(v) for v in extra if v.role == "cqa"],
        }
        if self.solubility:
            spec["solubility"] = [list(p) for p in self.solubility]
        return spec

    # -- schema files ----------------------------------------------------------
    @classmethod
    def from_json(cls, source: str | Path | dict[str, Any]) -> Schema:
        """Build a schema from a JSON file (path), JSON text or an already parsed dict."""
        spec = _load_spec(source)
        unknown = set(spec) - {"max_cycles", "columns", "bounds", "inputs", "cqas", "solubility"}
        if unknown:
            raise SchemaError(f"unknown schema keys: {', '.join(sorted(unknown))}")
        max_cycles = spec.get("max_cycles", DEFAULT_MAX_CYCLES)
        if not isinstance(max_cycles, int) or not 0 <= max_cycles <= MAX_SCHEMA_CYCLES:
            raise SchemaError(f"max_cycles must be a whole number from 0 to {MAX_SCHEMA_CYCLES}")
        bounds_spec = spec.get("bounds", {})
        if not isinstance(bounds_spec, dict):
            raise SchemaError('"bounds" must map a column (or T, C, H) to [low, high]')
        profile_bounds = Bounds(
            T=_pair(bounds_spec.get("T", T_BOUNDS), "T"),
            C=_pair(bounds_spec.get("C", COOLING_RATE_BOUNDS), "C"),
            H=_pair(bounds_spec.get("H", HEATING_RATE_BOUNDS), "H"),
        )
        schema = cls.default(max_cycles, profile_bounds)
        extra = [_extra_variable(item, "input") for item in _list(spec, "inputs")]
        extra += [_extra_variable(item, "cqa") for item in _list(spec, "cqas")]
        names = {v.name for v in schema.variables}
        for v in extra:
            if v.name in names:
                raise SchemaError(f'"{v.name}" is already a column of the template')
            names.add(v.name)
        inputs = [v for v in schema.variables if v.role == "input"] + [v for v in extra if v.role == "input"]
        cqas = [v for v in schema.variables if v.role == "cqa"] + [v for v in extra if v.role == "cqa"]
        variables = []
        for v in inputs + cqas:
            if v.name in bounds_spec and v.name not in ("T", "C", "H"):
                v = replace(v, bounds=_pair(bounds_spec[v.name], v.name))
            variables.append(v)
        unknown_bounds = set(bounds_spec) - names - {"T", "C", "H"}
        if unknown_bounds:
            raise SchemaError(f"bounds given for unknown columns: {', '.join(sorted(unknown_bounds))}")
        columns = spec.get("columns", {})
        if not isinstance(columns, dict) or not all(isinstance(t, str | None) for t in columns.values()):
            raise SchemaError('"columns" must map sheet headers to column names (or null), e.g. {"Size": "D50"}')
        column_map: dict[str, str | None] = {}
        for header, target in columns.items():
            if target is not None and target not in names:
                raise SchemaError(f'"columns" maps "{header}" to "{target}", which is not a known column')
            column_map[normalise_header(header)] = target
        return cls(tuple(variables), max_cycles, column_map, _solubility(spec.get("solubility")))


def _load_spec(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, dict):
        spec = source
    else:
        text = str(source)
        try:
            if isinstance(source, Path) or not text.lstrip().startswith("{"):
                text = Path(source).read_text(encoding="utf-8")
            spec = json.loads(text)
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaError(f"cannot read the schema file: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise SchemaError(f"the schema file is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(spec, dict):
        raise SchemaError("a schema file must hold a JSON object")
    return spec


def _list(spec: dict[str, Any], key: str) -> list[Any]:
    items = spec.get(key, [])
    if not isinstance(items, list):
        raise SchemaError(f'"{key}" must be a list of {{"name": ..., "unit": ...}} objects')
    return items


def _pair(value: object, name: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
        or not value[0] < value[1]
    ):
        raise SchemaError(f"bounds of {name} must be [low, high] with low < high")
    return float(value[0]), float(value[1])


def _extra_variable(item: object, role: str) -> Variable:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise SchemaError(f'each extra {role} needs at least a "name"')
    name = item["name"].strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SchemaError(f'"{name}": names use letters, digits and underscores and start with a letter')
    bounds = _pair(item["bounds"], name) if "bounds" in item else None
    limits = _pair(item["limits"], name) if "limits" in item else (-INF, INF)
    aliases = tuple(normalise_header(a) for a in item.get("aliases", []))
    return Variable(name, role, str(item.get("unit", "")), str(item.get("description", "")), bounds, limits, aliases)


def _solubility(value: object) -> tuple[tuple[float, float], ...] | None:
    """Optional solubility points [[T, c*], ...], checked by `SolubilityCurve`."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, int | float) for x in p) for p in value
    ):
        raise SchemaError('"solubility" must be a list of [temperature, solubility] pairs, e.g. [[10, 20], [50, 45]]')
    try:
        return SolubilityCurve(tuple((float(t), float(c)) for t, c in value)).points
    except ValueError as exc:
        raise SchemaError(f"solubility: {exc}") from None


def spec_with_roles(spec: Mapping[str, Any], header: Sequence[str], roles: Sequence[str | None]) -> dict[str, Any]:
    """The schema spec with the engineer's column roles (None: not modelled) wherever they differ from detection."""
    schema = Schema.from_json(dict(spec))
    changed = {h: role for h, role in zip(header, roles, strict=True) if h and role != schema.match(h)}
    if not changed:
        return dict(spec)
    return {**spec, "columns": {**spec.get("columns", {}), **changed}}
