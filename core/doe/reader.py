"""Read a spreadsheet (CSV or XLSX, from a path or uploaded bytes) into a raw grid of cells.

Uploaded files are untrusted: the type is decided from the content, not the
name; sizes and zip expansion are capped; workbooks are parsed for data only
(openpyxl uses defusedxml when it is installed, and never runs macros).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 100_000
TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
# Title and notes rows above the header are skipped when a header test is given; this many rows are searched.
HEADER_SCAN_ROWS = 30
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

# How much a row looks like the header: 1 (or True) names every required column; a share in (0, 1) names some.
HeaderTest = Callable[[Sequence[object]], float]


class DoEReadError(Exception):
    """The file cannot be read at all; the message says why in plain words."""


@dataclass
class CellNote:
    """Something about a cell that a value alone does not show (a formula, a merge)."""

    row: int
    column: int  # 0-based column index
    kind: str  # "formula", "merged" or "hidden" (a hidden row; column is -1)
    message: str
    usable: bool  # the cell still has a trustworthy value


@dataclass
class RawTable:
    """Header and data cells as the user sees them, with sheet row numbers."""

    header: list[str]
    rows: list[list[object]]
    row_numbers: list[int]
    header_row: int = 1
    sheet: str | None = None
    notes: list[CellNote] = field(default_factory=list)
    skipped_above: list[int] = field(default_factory=list)  # non-blank rows above the header (titles, notes)
    transposed: bool = False  # one experiment per column: rows and columns were swapped, row numbers are columns
    encoding: str | None = None  # of a text file


def file_kind(data: bytes) -> str:
    """Classify content by its first bytes: 'xlsx', 'text', or a plain-words description of what it is."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            return "a damaged zip archive"
        return "xlsx" if "xl/workbook.xml" in names else "a zip archive that is not an Excel workbook"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel 97-2003 (.xls) workbook"
    if data.startswith(b"%PDF"):
        return "a PDF document"
    for magic, what in ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"\x7fELF", "a program")):
        if data.startswith(magic):
            return what
    if data.startswith((b"MZ", b"\x80\x04", b"\x80\x05")):
        return "a program or pickled Python object"
    if data.startswith(UTF16_BOMS):
        return "text"  # Excel's "Unicode text" export
    head = data[:65536]
    if b"\x00" in head:
        return "a binary file"
    return "text"


def read_source(source: str | Path | bytes, filename: str | None = None) -> tuple[bytes, str]:
    """Bytes and a display name, with the size cap applied before anything is parsed."""
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), filename or "upload"
    else:
        path = Path(source)
        name = filename or path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise DoEReadError(f"cannot open {name}: {exc.strerror or exc}") from exc
        if not path.is_file():
            raise DoEReadError(f"{name} is not a file")
        if size > MAX_FILE_BYTES:
            raise DoEReadError(_too_large(size))
        data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise DoEReadError(_too_large(len(data)))
    return data, name


def _too_large(size: int) -> str:
    return f"the file is {size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB"


def list_sheets(source: str | Path | bytes, filename: str | None = None) -> list[str]:
    """Sheet names of a workbook; a CSV has none."""
    data, name = read_source(source, filename)
    if _kind_for(data, name) != "xlsx":
        return []
    return _open_workbook(data, name, data_only=True).sheetnames


def read_table(
    source: str | Path | bytes,
    filename: str | None = None,
    sheet: str | None = None,
    header_test: HeaderTest | None = None,
) -> RawTable:
    """The header row and data rows of a CSV file or one workbook sheet.

    Without `header_test` the first non-blank row is the header. With it, the header is the first of the top
    rows that passes the test (title rows above are skipped); when no row passes but a column does, the sheet
    is read transposed (one experiment per column); when nothing passes, the top row naming the most columns
    is the header, so the report can say which ones it lacks.
    """
    data, name = read_source(source, filename)
    if _kind_for(data, name) == "xlsx":
        table = _read_xlsx(data, name, sheet, header_test)
    else:
        table = _read_csv(data, header_test)
    if len(table.rows) > MAX_ROWS:
        raise DoEReadError(f"the file has {len(table.rows):,} data rows; the limit is {MAX_ROWS:,}")
    return table


def _kind_for(data: bytes, name: str) -> str:
    if not data.strip():
        raise DoEReadError(f"{name} is empty")
    kind = file_kind(data)
    suffix = Path(name).suffix.lower()
    if kind not in ("xlsx", "text"):
        raise DoEReadError(f"{name} is {kind}, not a CSV or XLSX spreadsheet")
    if kind == "xlsx" and suffix in TEXT_SUFFIXES:
        raise DoEReadError(f"{name} is named like a text file but is an Excel workbook; rename it to .xlsx")
    if kind == "text" and suffix in EXCEL_SUFFIXES:
        raise DoEReadError(f"{name} is named like an Excel workbook but holds plain text; save it as .csv")
    if suffix and suffix not in TEXT_SUFFIXES | EXCEL_SUFFIXES:
        raise DoEReadError(f"{name}: only .csv, .tsv, .txt and .xlsx files are read")
    return kind


# -- CSV -------------------------------------------------------------------------
def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with: a BOM decides, else UTF-8, else Windows-1252 (Excel's "CSV")."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "UTF-8 with BOM"
    for bom, label in ((codecs.BOM_UTF16_LE, "UTF-16 LE"), (codecs.BOM_UTF16_BE, "UTF-16 BE")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(label.replace(" ", "-").lower()), label
            except UnicodeDecodeError as exc:
                raise DoEReadError(f"the file starts like {label} text but is not valid {label}") from exc
    for encoding, label in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return data.decode(encoding), label
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "Latin-1"


def _read_csv(data: bytes, header_test: HeaderTest | None = None) -> RawTable:
    text, encoding = _decode(data)
    dialect = _dialect(text, header_test)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise DoEReadError(f"the CSV file is malformed: {exc}") from exc
    grid: list[list[object]] = [[c if c.strip() else None for c in r] for r in records]
    table = _grid_to_table(grid, list(range(1, len(records) + 1)), None, header_test)
    table.encoding = encoding
    return table


def _dialect(text: str, header_test: HeaderTest | None) -> type[csv.Dialect] | csv.Dialect:
    """The sniffed dialect; title lines above the header can fool the sniffer, so with a header test the delimiter
    whose top rows hold a header wins."""
    sample = text[:20000]
    try:
        sniffed: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        sniffed = csv.excel
    if header_test is None:
        return sniffed
    top = sample.splitlines()[:HEADER_SCAN_ROWS]
    for delimiter in dict.fromkeys([sniffed.delimiter, ",", ";", "\t", "|"]):
        try:
            rows = list(csv.reader(top, delimiter=delimiter))
        except csv.Error:
            continue
        if any(header_test(row) >= 1 for row in rows):
            return sniffed if delimiter == sniffed.delimiter else _with_delimiter(delimiter)
    return sniffed


def _with_delimiter(delimiter: str) -> type[csv.Dialect]:
    return type("Sniffed", (csv.excel,), {"delimiter": delimiter})


def _grid_to_table(
    grid: list[list[object]], numbers: list[int], sheet: str | None = None, header_test: HeaderTest | None = None
) -> RawTable:
    """Header row (see `read_table`) and the data rows below it; fully blank rows are dropped, numbering kept."""
    nonblank = [i for i, r in enumerate(grid) if any(c is not None for c in r)]
    if not nonblank:
        raise DoEReadError("the file holds no data")
    transposed = False
    k = _first_passing(grid, nonblank, header_test)
    if k is None and header_test is not None:
        width = max(len(r) for r in grid)
        columns = [[r[j] if j < len(r) else None for r in grid] for j in range(width)]
        filled = [j for j, c in enumerate(columns) if any(v is not None for v in c)]
        if _first_passing(columns, filled, header_test) is not None:
            grid, numbers, nonblank, transposed = columns, list(range(1, width + 1)), filled, True
            k = _first_passing(grid, nonblank, header_test)
        else:
            k = _best_partial(grid, nonblank, header_test)
    h = nonblank[k or 0]
    skipped = [numbers[i] for i in nonblank[: k or 0]]
    header = ["" if c is None else str(c).strip() for c in grid[h]]
    width = len(header)
    rows, row_numbers = [], []
    for i in nonblank[(k or 0) + 1 :]:
        row = list(grid[i])
        if len(row) > width:
            if any(c is not None for c in row[width:]):
                header += [""] * (len(row) - width)
                for r in rows:
                    r += [None] * (len(row) - width)
                width = len(row)
            else:
                row = row[:width]
        rows.append(row + [None] * (width - len(row)))
        row_numbers.append(numbers[i])
    return RawTable(header, rows, row_numbers, numbers[h], sheet, skipped_above=skipped, transposed=transposed)


def _first_passing(grid: list[list[object]], nonblank: list[int], header_test: HeaderTest | None) -> int | None:
    """Position in `nonblank` of the first of the top rows that passes the header test."""
    if header_test is None:
        return None
    return next((k for k, i in enumerate(nonblank[:HEADER_SCAN_ROWS]) if header_test(grid[i]) >= 1), None)


def _best_partial(grid: list[list[object]], nonblank: list[int], header_test: HeaderTest) -> int | None:
    """Position of the top row that names the most columns, None when none names any."""
    scores = [header_test(grid[i]) for i in nonblank[:HEADER_SCAN_ROWS]]
    best = max(scores, default=0)
    return scores.index(best) if best > 0 else None


# -- XLSX ------------------------------------------------------------------------
def _open_workbook(data: bytes, name: str, data_only: bool) -> openpyxl.Workbook:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unzipped = sum(i.file_size for i in zf.infolist())
        if unzipped > MAX_UNZIPPED_BYTES:
            limit = MAX_UNZIPPED_BYTES / 1e6
            raise DoEReadError(f"{name} expands to {unzipped / 1e6:.0f} MB; the limit is {limit:.0f} MB")
        return openpyxl.load_workbook(io.BytesIO(data), data_only=data_only, keep_vba=False, keep_links=False)
    except DoEReadError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise DoEReadError(f"{name} is not a readable Excel workbook ({type(exc).__name__})") from exc


def _read_xlsx(data: bytes, name: str, sheet: str | None, header_test: HeaderTest | None = None) -> RawTable:
    formulas = _open_workbook(data, name, data_only=False)
    sheet_name = sheet or formulas.sheetnames[0]
    if sheet_name not in formulas.sheetnames:
        raise DoEReadError(f'{name} has no sheet "{sheet_name}"; its sheets are: {", ".join(formulas.sheetnames)}')
    ws = formulas[sheet_name]
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    notes = _merged_notes(ws) + _hidden_row_notes(ws)
    formula_cells = [
        (r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if isinstance(v, str) and v.startswith("=")
    ]
    if formula_cells:
        cached = [list(r) for r in _open_workbook(data, name, data_only=True)[sheet_name].iter_rows(values_only=True)]
        for r, c in formula_cells:
            value = cached[r][c] if r < len(cached) and c < len(cached[r]) else None
            cell = f"{get_column_letter(c + 1)}{r + 1}"
            if value is None:
                msg = f"cell {cell} holds a formula with no saved result; paste its value instead"
            else:
                msg = f"cell {cell} holds a formula; its saved result {value!r} is used"
            notes.append(CellNote(r + 1, c, "formula", msg, value is not None))
            grid[r][c] = value
    grid = [[None if isinstance(v, str) and not v.strip() else v for v in row] for row in grid]
    table = _grid_to_table(grid, list(range(1, len(grid) + 1)), sheet_name, header_test)
    table.notes = [] if table.transposed else notes  # cell notes name sheet rows, which a transposed read renames
    return table


def _hidden_row_notes(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[CellNote]:
    """Hidden rows are read like any other, but said so: a hidden run is easy to forget."""
    return [
        CellNote(r, -1, "hidden", f"row {r} is hidden in the sheet; it is read like any other row", True)
        for r, dim in ws.row_dimensions.items()
        if dim.hidden
    ]


def _merged_notes(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[CellNote]:
    notes = []
    for rng in ws.merged_cells.ranges:
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if (r, c) != (rng.min_row, rng.min_col):
                    msg = f"cells {rng.coord} are merged; unmerge them and fill every cell"
                    notes.append(CellNote(r, c - 1, "merged", msg, False))
    return notes
