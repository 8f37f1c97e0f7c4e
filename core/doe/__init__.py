"""DoE spreadsheets: schema, reading, validation and the data model."""

from core.doe.dataset import DoEData
from core.doe.reader import DoEReadError, RawTable, list_sheets, read_table
from core.doe.report import Problem, ValidationReport
from core.doe.schema import Schema, SchemaError, Variable
from core.doe.validation import LoadResult, append_rows, load_doe, load_frame, read_rows

__all__ = [
    "DoEData",
    "DoEReadError",
    "LoadResult",
    "Problem",
    "RawTable",
    "Schema",
    "SchemaError",
    "ValidationReport",
    "Variable",
    "append_rows",
    "list_sheets",
    "load_doe",
    "load_frame",
    "read_rows",
    "read_table",
]
