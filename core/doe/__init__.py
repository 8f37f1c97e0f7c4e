"""DoE spreadsheets: schema, reading, validation and the data model."""

from core.doe.dataset import DoEData
from core.doe.reader import DoEReadError, RawTable, list_sheets, read_table
from core.doe.report import Problem, ValidationReport
from core.doe.schema import Schema, SchemaError, Variable
from core.doe.validation import LoadResult, append_rows, first_doe_sheet, header_test, load_doe, load_frame, read_rows

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
    "first_doe_sheet",
    "header_test",
    "list_sheets",
    "load_doe",
    "load_frame",
    "read_rows",
    "read_table",
]
