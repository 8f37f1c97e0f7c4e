"""Validation reports: every problem with the sheet row and column the user sees."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# Past this many problems of one kind the report summarises, so a 100k-row file stays readable.
MAX_PER_RULE = 50


@dataclass(frozen=True)
class Problem:
    severity: str  # "error": the row (or file) cannot be used; "warning": usable, but look at it
    message: str
    row: int | None = None  # row number as in the user's sheet (header = row 1)
    column: str | None = None  # header as written in the user's sheet

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"row {self.row}" if self.row else "", self.column or "") if p)
        return f"{self.severity.upper()}{f' [{where}]' if where else ''}: {self.message}"


@dataclass
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    n_rows: int = 0
    n_usable: int = 0
    cqa_counts: dict[str, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    readable: bool = True
    header_row: int | None = None  # sheet row (or column, when read transposed) taken as the header
    sheet: str | None = None
    encoding: str | None = None  # of a text file, as detected
    _per_rule: Counter[str] = field(default_factory=Counter, repr=False)
    _suppressed: Counter[tuple[str, str]] = field(default_factory=Counter, repr=False)

    def add(
        self, severity: str, message: str, row: int | None = None, column: str | None = None, rule: str = ""
    ) -> None:
        key = rule or message
        self._per_rule[key] += 1
        if self._per_rule[key] > MAX_PER_RULE:
            self._suppressed[(severity, key)] += 1
            return
        self.problems.append(Problem(severity, message, row, column))

    def error(self, message: str, row: int | None = None, column: str | None = None, rule: str = "") -> None:
        self.add("error", message, row, column, rule)

    def warning(self, message: str, row: int | None = None, column: str | None = None, rule: str = "") -> None:
        self.add("warning", message, row, column, rule)

    def finish(self) -> ValidationReport:
        """Turn suppressed repeats into one summary line per rule."""
        for (severity, rule), n in self._suppressed.items():
            self.problems.append(Problem(severity, f"{n:,} more rows with the same problem ({rule})"))
        self._suppressed.clear()
        return self

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.readable and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "cqa_counts": dict(self.cqa_counts),
            "n_rows": self.n_rows,
            "n_usable": self.n_usable,
            "ignored_columns": list(self.ignored_columns),
            "header_row": self.header_row,
            "sheet": self.sheet,
            "encoding": self.encoding,
        }

    def cells(self) -> dict[tuple[int, str], str]:
        """(sheet row, header) -> worst severity, for highlighting the offending cells."""
        out: dict[tuple[int, str], str] = {}
        for p in self.problems:
            if p.row is not None and p.column is not None and out.get((p.row, p.column)) != "error":
                out[(p.row, p.column)] = p.severity
        return out

    def to_text(self) -> str:
        lines = [
            f"{self.n_rows} data rows, {self.n_usable} usable; {len(self.errors)} errors, {len(self.warnings)} warnings"
        ]
        if self.header_row is not None:
            where = f' of sheet "{self.sheet}"' if self.sheet else (f" ({self.encoding} text)" if self.encoding else "")
            lines.append(f"header: row {self.header_row}{where}")
        if self.cqa_counts:
            lines.append("measured: " + ", ".join(f"{k} {v}" for k, v in self.cqa_counts.items()))
        if self.ignored_columns:
            lines.append("kept but not modelled: " + ", ".join(self.ignored_columns))
        lines += [str(p) for p in self.problems]
        return "\n".join(lines)
