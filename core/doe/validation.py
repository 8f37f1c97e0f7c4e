"""Turn a raw sheet into DoEData plus a report of every problem, row by row.

Nothing here raises on bad content: a file that cannot be read gives a report
with `readable=False`; a row with an error is left out of the data and named
in the report; warnings keep the row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from core.doe.dataset import DoEData
from core.doe.reader import DoEReadError, HeaderTest, RawTable, list_sheets, read_table
from core.doe.report import ValidationReport
from core.doe.schema import MAX_SCHEMA_CYCLES, Schema, Variable, normalise_header
from core.doe.units import conversion, convert, header_unit, unchanged
from core.profiles import ThermocycleProfile, check_features, profile_columns

MISSING_TOKENS = {"", "na", "n/a", "nan", "-", "--", "—", "–", "none", "null", "nm", "n.m.", "not measured", "?"}
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
# Unambiguous thousands separators: 1,234.5 / 1,234,567 / 1.234,5 / 1 234,5 / 1'234.5 (a lone "1,234" stays decimal)
THOUSANDS = (
    (re.compile(r"^[+-]?\d{1,3}(,\d{3})+\.\d*$|^[+-]?\d{1,3}(,\d{3}){2,}$"), ",", "."),
    (re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d*$|^[+-]?\d{1,3}(\.\d{3}){2,}$"), ".", ","),
    (re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f']\d{3})+([.,]\d*)?$"), " \u00a0\u202f'", ","),
)
# Below a detection or quantification limit: not a measured value.
BELOW_LIMIT = re.compile(r"^(<\s*(lod|loq|dl|ql|\d.*)|bdl|bql|n\.?d\.?|below lod)$", re.IGNORECASE)
REQUIRED_INPUTS = ("initial_concentration", "seed_loading", "T1", "T2", "C1")
# Designs and plans may go as far as the experiments did (`Schema.covering`), so a typo would widen the design space.
WIDENS_BOUNDS = "; the design bounds widen to take it in (check that it is no typo)"
MIN_PARTIAL_HEADER = 3  # a row naming fewer schema columns is not taken for a header that lacks some


@dataclass
class LoadResult:
    data: DoEData | None
    report: ValidationReport
    repeated: tuple[str, ...] = ()  # rows `append_rows` left out: each repeats a run of the data exactly


@dataclass
class _Cell:
    value: float  # NaN when blank or not a number
    problem: str | None = None  # why the cell is not a number
    note: str | None = None  # a warning that keeps the value


def load_doe(
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    schema: Schema | None = None,
    planned: bool = False,
) -> LoadResult:
    """Read and validate a DoE file; never raises on bad content.

    `planned` marks a file of runs still to be done (as `plan` writes it): blank CQA columns are then
    expected, while a DoE without a single measured CQA is an error, since nothing can be learned from it.
    """
    schema = schema or Schema.default()
    try:
        table = read_table(source, filename, sheet, header_test(schema))
    except DoEReadError as exc:
        report = ValidationReport(readable=False)
        report.error(str(exc))
        return LoadResult(None, report.finish())
    return validate_table(table, schema, planned)


def header_test(schema: Schema) -> HeaderTest:
    """1 for a row naming every required input and a CQA; else the share of those it names (0 below 3 columns)."""
    required = set(_required(schema))

    def score(cells: Sequence[object]) -> float:
        names = {schema.match(c) for c in cells if c is not None} - {None}
        has_cqa = any(c in names for c in schema.cqa_names)
        if required <= names and has_cqa:
            return 1.0
        if len(names) < MIN_PARTIAL_HEADER:
            return 0.0
        return (len(required & names) + has_cqa) / (len(required) + 2)  # < 1 even with all but the CQA

    return score


def first_doe_sheet(
    source: str | Path | bytes, filename: str | None = None, schema: Schema | None = None
) -> str | None:
    """The first sheet of a workbook whose header names the required columns (None: no sheet does, or a CSV)."""
    test = header_test(schema or Schema.default())
    for sheet in list_sheets(source, filename):
        try:
            table = read_table(source, filename, sheet, test)
        except DoEReadError:
            continue
        if test(table.header) >= 1:
            return sheet
    return None


def load_frame(frame: pd.DataFrame, schema: Schema | None = None) -> LoadResult:
    """Validate a DataFrame (e.g. an edited table) as if it were a sheet with a header row."""
    rows = [[None if _blank_object(v) else v for v in r] for r in frame.itertuples(index=False)]
    table = RawTable([str(c) for c in frame.columns], rows, list(range(2, len(rows) + 2)))
    return validate_table(table, schema or Schema.default())


def append_rows(data: DoEData, rows: pd.DataFrame) -> LoadResult:
    """The data with new experiments (canonical columns) added, validated again as one sheet.

    A row that repeats a run of the data exactly (every input and CQA, blanks alike) is not appended again: it
    is the same workbook uploaded twice or the same run appended twice, and it would count twice in training,
    while a true replicate measures differently. Such rows are named in `repeated` (by run id where there is
    one); when no row is left, the report has an error and nothing is appended."""
    repeats = _repeats(data, rows)
    if len(rows) and repeats.all():
        report = ValidationReport(n_rows=len(rows))
        report.error("every row repeats a run of the data exactly (every input and CQA): it was appended before")
        return LoadResult(None, report.finish())
    result = load_frame(pd.concat([data.frame, rows[~repeats]], ignore_index=True), data.schema)
    ids = rows["run_id"] if "run_id" in rows else pd.Series(np.nan, index=rows.index)
    result.repeated = tuple(
        str(ids.iloc[i]) if pd.notna(ids.iloc[i]) else f"new row {i + 1}" for i in np.flatnonzero(repeats)
    )
    return result


def _repeats(data: DoEData, rows: pd.DataFrame) -> np.ndarray:
    """Which rows repeat a run of the data in every input and CQA; a cell that is not a number repeats nothing."""
    columns = data.schema.input_names + data.schema.cqa_names
    given = rows.reindex(columns=columns)
    numbers = given.apply(pd.to_numeric, errors="coerce")
    readable = (numbers.notna() | given.isna()).all(axis=1).to_numpy()

    known = set(_row_keys(data.frame.reindex(columns=columns)))
    return readable & np.array([k in known for k in _row_keys(numbers)], dtype=bool)


def _row_keys(frame: pd.DataFrame) -> list[tuple[float, ...]]:
    """One hashable key per row, equal for rows equal in every cell (blanks alike)."""
    return [tuple(r) for r in frame.astype(float).fillna(-math.inf).to_numpy()]


def read_rows(
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    schema: Schema | None = None,
) -> pd.DataFrame:
    """Every data row in canonical columns, NaN for blank or non-numbers; raises DoEReadError."""
    schema = schema or Schema.default()
    table = read_table(source, filename, sheet, header_test(schema))
    columns = _map_columns(table.header, schema)
    out = {
        name: [_parse(row[idx[0]]).value for row in table.rows]
        for name, idx in columns.items()
        if name is not None and len(idx) == 1
    }
    frame = pd.DataFrame(out, index=pd.Index(table.row_numbers, name="row"))
    return frame.reindex(columns=schema.input_names + schema.cqa_names)


# -- cells -----------------------------------------------------------------------------
def _blank_object(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _parse(value: object) -> _Cell:
    if value is None:
        return _Cell(math.nan)
    if isinstance(value, bool):
        return _Cell(math.nan, f"{value} is not a number")
    if isinstance(value, int | float):
        v = float(value)
        return _Cell(v) if math.isfinite(v) else _Cell(math.nan, None if math.isnan(v) else f"{value} is not finite")
    text = str(value).strip()
    if text.lower() in MISSING_TOKENS:
        return _Cell(math.nan)
    if BELOW_LIMIT.match(text):
        return _Cell(math.nan, note=f'"{text}" (below a detection limit) read as not measured')
    if DECIMAL_COMMA.match(text):
        v = float(text.replace(",", "."))
        return _Cell(v, note=f'"{text}" read as {v:g} (decimal comma)')
    for pattern, group, decimal in THOUSANDS:
        if pattern.match(text):
            digits = "".join(ch for ch in text if ch not in group).replace(decimal, ".")
            v = float(digits)
            return _Cell(v, note=f'"{text}" read as {v:g} (thousands separator)')
    try:
        v = float(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:37] + "..."
        return _Cell(math.nan, f'"{shown}" is not a number')
    return _Cell(v) if math.isfinite(v) else _Cell(math.nan, f'"{text}" is not a finite number')


def _parse_column(raw: list[object]) -> tuple[np.ndarray, dict[int, _Cell]]:
    """Numbers of a column, and the cells that needed a closer look (fast path for plain numbers)."""
    series = pd.Series(raw, dtype=object)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, copy=True)
    odd = (np.isnan(values) & series.notna().to_numpy()) | np.isinf(values)
    odd |= np.fromiter((type(v) is bool for v in raw), bool, len(raw))
    cells = {int(i): _parse(raw[i]) for i in np.flatnonzero(odd)}
    for i, c in cells.items():
        values[i] = c.value
    return values, {i: c for i, c in cells.items() if c.problem or c.note}


# -- columns ---------------------------------------------------------------------------
def _map_columns(header: Sequence[str], schema: Schema) -> dict[str | None, list[int]]:
    columns: dict[str | None, list[int]] = {}
    for j, h in enumerate(header):
        columns.setdefault(schema.match(h), []).append(j)
    return columns


def _label(header: Sequence[str], j: int) -> str:
    return header[j] if header[j] else f"column {get_column_letter(j + 1)}"


def _check_columns(
    table: RawTable, schema: Schema, report: ValidationReport
) -> tuple[dict[str, int], list[int]] | None:
    """Modelled column index per variable, and the kept columns; None when the sheet cannot be used."""
    columns = _map_columns(table.header, schema)
    fatal = False
    for name, idx in columns.items():
        if name is not None and len(idx) > 1:
            shown = " and ".join(f'"{_label(table.header, j)}"' for j in idx)
            report.error(f"columns {shown} both hold {name}; keep one of them")
            fatal = True
    for name in _required(schema):
        if name not in columns:
            v = schema.variable(name)
            unit = f" ({v.unit})" if v.unit else ""
            report.error(f'required column "{name}"{unit} is missing: {v.description}')
            fatal = True
    if not any(c in columns for c in schema.cqa_names):
        report.error("no CQA column found; expected at least one of " + ", ".join(schema.cqa_names))
        fatal = True
    kept = columns.get(None, [])
    seen: dict[str, int] = {}
    for j in kept:
        h = table.header[j]
        if not h and any(row[j] is not None for row in table.rows):
            report.warning(f"column {get_column_letter(j + 1)} has data but no header; it is kept, not modelled")
        if h and h in seen:
            report.warning(
                f'the header "{h}" appears twice (columns {get_column_letter(seen[h] + 1)} and '
                f"{get_column_letter(j + 1)}); both are kept, not modelled"
            )
        seen.setdefault(h, j)
    report.ignored_columns = [_label(table.header, j) for j in kept if table.header[j]]
    if fatal:
        _transposed_hint(table, schema, report)
        return None
    return {n: idx[0] for n, idx in columns.items() if n is not None}, kept


# -- rows ------------------------------------------------------------------------------
def validate_table(table: RawTable, schema: Schema, planned: bool = False) -> LoadResult:
    report = ValidationReport(
        n_rows=len(table.rows), header_row=table.header_row, sheet=table.sheet, encoding=table.encoding
    )
    _report_layout(table, report)
    if not table.rows:
        report.error("the sheet has a header row but no data rows")
        return LoadResult(None, report.finish())
    mapped = _check_columns(table, schema, report)
    if mapped is None:
        return LoadResult(None, report.finish())
    modelled, kept = mapped
    table = _drop_units_row(table, modelled, report)
    report.n_rows = len(table.rows)
    header = table.header
    bad: set[int] = set()
    invalid: set[tuple[int, str]] = set()  # (row position, variable) cells already reported as unusable
    values: dict[str, list[float]] = {}
    for name, j in modelled.items():
        values[name], cells = _parse_column([row[j] for row in table.rows])
        for i, c in cells.items():
            if c.problem:
                report.error(c.problem, table.row_numbers[i], header[j], rule=f"not a number in {name}")
                bad.add(i)
                invalid.add((i, name))
            elif c.note:
                report.warning(c.note, table.row_numbers[i], header[j], rule="decimal comma")
    _convert_units(values, modelled, header, schema, report)
    _check_notes(table, modelled, report, bad, invalid)
    frame = pd.DataFrame(values, index=pd.Index(table.row_numbers, name="row"))
    frame = frame.reindex(columns=schema.input_names + schema.cqa_names)
    source = {n: _label(header, j) for n, j in modelled.items()}
    present = [c for c in schema.cqa_names if c in source]
    if not planned and not frame[present].notna().any().any():
        report.error("no CQA value is measured in any row (" + ", ".join(present) + "); nothing can be learned")
        return LoadResult(None, report.finish())
    _check_scalars(frame, schema, source, report, bad, invalid)
    _check_profiles(frame, schema, source, report, bad, invalid)
    _check_beyond_schema(table, kept, schema, report, bad)
    _check_cqas(frame, schema, source, report, bad)
    for j in kept:
        frame[_unique(frame.columns, _label(header, j))] = [row[j] for row in table.rows]
    usable = frame.iloc[sorted(set(range(len(frame))) - bad)]
    _check_duplicates(usable, schema, report)
    report.n_usable = len(usable)
    if usable.empty:
        report.error("no row can be used")
        return LoadResult(None, report.finish())
    data = DoEData(usable, schema, source)
    report.cqa_counts = data.cqa_counts()
    return LoadResult(data, report.finish())


def _convert_units(
    values: dict[str, np.ndarray],
    modelled: dict[str, int],
    header: Sequence[str],
    schema: Schema,
    report: ValidationReport,
) -> None:
    """Columns whose header names another unit than the schema's (`T1 (K)`) converted to the schema's, in place;
    one warning per pair of units, naming the columns. A header whose values fit the schema's range as they stand
    and not once converted (`seed_loading (%)` over 0.05-0.15) is taken as mislabelled: the values are kept."""
    converted: dict[tuple[str, str], list[str]] = {}
    kept: dict[tuple[str, str], list[str]] = {}
    for name, j in modelled.items():
        v = schema.variable(name)
        written = header_unit(header[j], v.unit) if v.unit else None
        if written is None:
            continue
        scale = conversion(written, v.unit)
        if scale is None and not unchanged(written, v.unit):
            report.warning(
                f"{written} cannot be converted to {v.unit}; the values are read as {v.unit}", column=header[j]
            )
        elif scale is not None and scale != (1.0, 0.0):
            new = convert(values[name], scale, keep_zero=v.profile)
            as_given, as_converted = _share_inside(values[name], v), _share_inside(new, v)
            if as_given is not None and as_converted is not None and as_given >= 0.9 and as_converted < 0.1:
                kept.setdefault((written, v.unit), []).append(name)
            else:
                values[name] = new
                converted.setdefault((written, v.unit), []).append(name)
    for (written, wanted), names in converted.items():
        report.warning(f"{', '.join(names)}: values in {written} converted to {wanted}")
    for (written, wanted), names in kept.items():
        report.warning(
            f"{', '.join(names)}: the header says {written}, but the values fit the expected range only as "
            f"{wanted}; they are read as {wanted}"
        )


def _share_inside(values: np.ndarray, v: Variable) -> float | None:
    """The share of the values (unused profile entries aside) in the variable's design space, or within its physical
    limits when it has none; None when there is nothing to judge by."""
    span = v.bounds or (v.limits if np.isfinite(v.limits).all() else None)
    used = values[np.isfinite(values) & ((values != 0) if v.profile else True)]
    if span is None or not len(used):
        return None
    return float(np.mean((used >= span[0]) & (used <= span[1])))


def _required(schema: Schema) -> list[str]:
    return list(dict.fromkeys([*REQUIRED_INPUTS, *schema.scalar_inputs]))


def _report_layout(table: RawTable, report: ValidationReport) -> None:
    """Say how the sheet was read when it was not the plain layout (header in its first row)."""
    if table.transposed:
        report.warning(
            f"the sheet holds one experiment per column (variable names in column {table.header_row}); it is read "
            "with rows and columns swapped, so a row number in this report is a column number of the sheet"
        )
    elif table.skipped_above:
        above = table.skipped_above
        span = f"row {above[0]}" if len(above) == 1 else f"rows {above[0]}-{above[-1]}"
        report.warning(f"row {table.header_row} is taken as the header; {span} above it (titles, notes) are not read")


def _transposed_hint(table: RawTable, schema: Schema, report: ValidationReport) -> None:
    """A sheet with variable names down its first column, but not all of them, is named as such."""
    first_column = [table.header[0] if table.header else None, *(row[0] for row in table.rows if row)]
    named = {schema.match(c) for c in first_column if c is not None} - {None}
    if len(named) >= 3 and not table.transposed:
        report.error(
            "the first column names variables (" + ", ".join(sorted(named)) + "), as a sheet with one experiment "
            "per column would; such a sheet is read only when that column names every required variable and a CQA"
        )


def _drop_units_row(table: RawTable, modelled: dict[str, int], report: ValidationReport) -> RawTable:
    """A row of units right under the header (mg/g, °C, µm …) is skipped, not reported as non-numbers."""
    if not table.rows:
        return table
    first = table.rows[0]
    cells = [_parse(first[j]) for j in modelled.values()]
    texts = [c for c in cells if c.problem is not None]
    if len(texts) < 2 or any(c.problem is None and not math.isnan(c.value) for c in cells):
        return table
    report.warning(f"row {table.row_numbers[0]} is read as a row of units under the header and skipped")
    return replace(table, rows=table.rows[1:], row_numbers=table.row_numbers[1:])


def _unique(existing: pd.Index, name: str) -> str:
    out, k = name, 2
    while out in existing:
        out, k = f"{name} ({k})", k + 1
    return out


def _check_notes(
    table: RawTable, modelled: dict[str, int], report: ValidationReport, bad: set[int], invalid: set[tuple[int, str]]
) -> None:
    position = {n: i for i, n in enumerate(table.row_numbers)}
    name_of = {j: n for n, j in modelled.items()}
    for note in table.notes:
        if note.kind == "hidden":
            if note.row in position:
                report.warning(note.message, note.row, rule="hidden row")
            continue
        column = _label(table.header, note.column) if note.column < len(table.header) else None
        if note.row == table.header_row and note.kind == "merged":
            report.warning(note.message, note.row, column, rule="merged header")
        elif note.row in position and note.column in name_of:
            if note.usable:
                report.warning(note.message, note.row, column, rule=note.kind)
            else:
                report.error(note.message, note.row, column, rule=note.kind)
                bad.add(position[note.row])
                invalid.add((position[note.row], name_of[note.column]))


def _check_scalars(
    frame: pd.DataFrame,
    schema: Schema,
    source: dict[str, str],
    report: ValidationReport,
    bad: set[int],
    invalid: set[tuple[int, str]],
) -> None:
    scalars = schema.scalar_inputs
    for name in scalars:
        v, col = schema.variable(name), source[name]
        for i, (pos, value) in enumerate(zip(frame.index, frame[name], strict=True)):
            if (i, name) in invalid:
                continue
            if math.isnan(value):
                report.error(f"{name} is blank; every experiment needs it", pos, col, rule=f"{name} blank")
                bad.add(i)
            elif not v.limits[0] <= value <= v.limits[1]:
                report.error(_range_msg(name, value, v.limits, v.unit, "possible"), pos, col, rule=f"{name} limits")
                bad.add(i)
            elif v.bounds and not v.bounds[0] <= value <= v.bounds[1]:
                msg = _range_msg(name, value, v.bounds, v.unit, "design space") + WIDENS_BOUNDS
                report.warning(msg, pos, col, rule=f"{name} bounds")


def _range_msg(name: str, value: float, rng: tuple[float, float], unit: str, what: str) -> str:
    lo, hi = rng
    span = f"[{lo:g}, {hi:g}]" if math.isfinite(hi) else f"above {lo:g}"
    return f"{name} = {value:g} {unit} is outside the {what} {span}".replace("  ", " ")


def _check_profiles(
    frame: pd.DataFrame,
    schema: Schema,
    source: dict[str, str],
    report: ValidationReport,
    bad: set[int],
    invalid: set[tuple[int, str]],
) -> None:
    names = schema.profile_names
    broken_rows = {i for i, n in invalid if n in names}
    bounds = schema.profile_bounds
    suspects = np.flatnonzero(_profile_suspects(frame, schema))
    records: list[dict[str, Any]] = frame[names].iloc[suspects].to_dict("records")
    limits = {n: schema.variable(n).limits for n in names}
    for i, row in zip(suspects.tolist(), records, strict=True):
        if i in broken_rows:
            continue  # its unreadable cell is already reported; the profile cannot be judged
        pos = int(frame.index[i])
        limit_errors = False
        for n, value in row.items():
            lo, hi = limits[n]
            if not math.isnan(value) and value != 0 and not lo < value <= hi:
                report.error(
                    _range_msg(n, value, (lo, hi), schema.variable(n).unit, "possible"),
                    pos,
                    source.get(n, n),
                    rule=f"{n[0]} limits",
                )
                limit_errors = True
        structure = check_features(row, schema.max_cycles)
        for n, msg in structure:
            report.error(msg, pos, source.get(n, n), rule="profile structure (Eq. 4)")
        if structure or limit_errors:
            bad.add(i)
            continue
        profile = ThermocycleProfile.from_features(row, schema.max_cycles)
        order = profile.order_violations()
        for msg in order:
            report.error(msg, pos, source.get(msg.split(" ")[0]), rule="profile order (Eqs. 2-3)")
        if order:
            bad.add(i)
        for n, msg in profile.bound_violations(bounds):
            report.warning(msg + WIDENS_BOUNDS, pos, source.get(n, n), rule="profile bounds")


def _check_beyond_schema(
    table: RawTable, kept: Sequence[int], schema: Schema, report: ValidationReport, bad: set[int]
) -> None:
    """Rows using set points or rates of more cycles than the schema has (`T11`, `C6`, `H5` for 4): read with the
    schema's columns only, their profiles would be cut short, so they are errors; columns left blank or 0, or that
    the schema file maps to null (not modelled, by choice), are kept as they are."""
    widest, chosen = Schema.default(max_cycles=MAX_SCHEMA_CYCLES), set(schema.column_map)
    beyond = {j: _extra_cycle(widest.match(table.header[j]), schema.max_cycles) for j in kept}
    beyond = {j: c for j, c in beyond.items() if c is not None and normalise_header(table.header[j]) not in chosen}
    for i, row in enumerate(table.rows):
        for j, cycle in beyond.items():
            value = _parse(row[j]).value
            if value is None or math.isnan(value) or value == 0:
                continue
            report.error(
                f"{_label(table.header, j)} belongs to cycle {cycle}, and this schema describes at most "
                f"{schema.max_cycles} cycles: the profile would be cut short. Load the file with a schema of "
                f"{cycle} or more cycles (max_cycles in the schema file)",
                table.row_numbers[i],
                _label(table.header, j),
                rule="more cycles than the schema",
            )
            bad.add(i)


def _extra_cycle(name: str | None, max_cycles: int) -> int | None:
    """The fewest cycles whose profile holds the column `name`, when more than `max_cycles` (None otherwise)."""
    more = range(max_cycles + 1, MAX_SCHEMA_CYCLES + 1)
    return next((cycles for cycles in more if name in profile_columns(cycles)), None)


def _profile_suspects(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Rows whose profile may break Eqs. 2-4, the limits or the bounds (vectorised pre-screen).

    Only these rows are examined one by one, which keeps a 100k-row file fast.
    """
    k = schema.max_cycles
    values = {
        kind: frame[[f"{kind}{i}" for i in range(1, n + 1)]].to_numpy(float)
        for kind, n in (("T", 2 * k + 2), ("C", k + 1), ("H", k))
    }
    used = {kind: ~(np.isnan(v) | (v == 0)) for kind, v in values.items()}
    n_temps = np.where(used["T"].all(axis=1), used["T"].shape[1], np.argmin(used["T"], axis=1))
    n_cool, n_heat = ThermocycleProfile.ramp_counts(np.maximum(n_temps, 1))
    suspect = n_temps < 2
    for kind, needed in (("T", n_temps), ("C", n_cool), ("H", n_heat)):
        expected = np.arange(used[kind].shape[1])[None, :] < needed[:, None]
        suspect |= (used[kind] != expected).any(axis=1)
        lo, hi = schema.variable(f"{kind}1").bounds or (-np.inf, np.inf)
        v = values[kind]
        suspect |= (used[kind] & ((v < lo) | (v > hi))).any(axis=1)
    t = values["T"]
    step = np.diff(np.nan_to_num(t), axis=1)
    in_profile = np.arange(step.shape[1])[None, :] < np.maximum(n_temps - 1, 0)[:, None]
    wrong_way = np.where(np.arange(step.shape[1]) % 2 == 0, step > 0, step < 0)
    suspect |= (in_profile & wrong_way).any(axis=1)
    return suspect


def _check_cqas(
    frame: pd.DataFrame, schema: Schema, source: dict[str, str], report: ValidationReport, bad: set[int]
) -> None:
    present = [c for c in schema.cqa_names if c in source]
    for name in present:
        v = schema.variable(name)
        for i, (pos, value) in enumerate(zip(frame.index, frame[name], strict=True)):
            if not math.isnan(value) and not v.limits[0] <= value <= v.limits[1]:
                report.error(
                    _range_msg(name, value, v.limits, v.unit, "possible"), pos, source[name], rule=f"{name} limits"
                )
                bad.add(i)
    measured = frame[present].notna().any(axis=1)
    for i, pos in enumerate(frame.index):
        if not measured.iloc[i] and i not in bad:
            report.warning("no CQA is measured in this row; no model can learn from it", int(pos), rule="no CQA")


def _check_duplicates(usable: pd.DataFrame, schema: Schema, report: ValidationReport) -> None:
    modelled = usable[schema.input_names + schema.cqa_names]
    duplicated = modelled.duplicated(keep="first")
    if not duplicated.any():
        return
    first = {}
    for pos, key in zip(modelled.index, _row_keys(modelled), strict=True):
        if key in first:
            report.warning(
                f"repeats row {first[key]} exactly; a repeated row counts twice in training",
                int(pos),
                rule="duplicate row",
            )
        else:
            first[key] = int(pos)
