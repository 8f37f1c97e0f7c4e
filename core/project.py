"""Projects saved as a zip of CSV and JSON: data, schema, settings and seeds, tables and results.

Nothing in a project is code or a pickle: models are re-fitted deterministically
from the saved data, settings and seeds when a project is opened. A project saved
with its models holds each CQA's chosen configuration (family, hyper-parameters,
training rows, seeds), so opening it re-fits exactly that, with no search.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from core.doe.dataset import DoEData
from core.doe.schema import Schema, SchemaError
from core.doe.validation import load_doe
from core.models.fitting import FitResult
from core.models.persistence import result_from_files, run_files

FORMAT = "processtwin-project"
VERSION = 1
MAX_PROJECT_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
TABLE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MODEL_PREFIX = "models_"  # a model run's files (core.models.persistence) inside the project's files/
MODEL_RUN_FILES = ("settings.json", "metrics.json", "data.csv", "holdout.csv")
FILE_NAME = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,119}\.(csv|json)")  # no folders, CSV or JSON only


class ProjectError(ValueError):
    """A project file that cannot be opened, with a plain-words reason."""


@dataclass
class Project:
    data: DoEData
    name: str = "project"
    settings: dict[str, Any] = field(default_factory=dict)  # per-step settings and seeds (JSON)
    results: dict[str, Any] = field(default_factory=dict)  # metrics and summaries (JSON)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # Pareto sets, basket, ...
    files: dict[str, str] = field(default_factory=dict)  # CSV/JSON texts kept verbatim, e.g. an applied augmentation


def save_project(project: Project) -> bytes:
    for name in project.tables:
        if not TABLE_NAME.match(name):
            raise ValueError(f"table name {name!r} must use letters, digits, '-' and '_'")
    for name in project.files:
        if not FILE_NAME.fullmatch(name):
            raise ValueError(f"file name {name!r} must be a plain .csv or .json name")
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "name": project.name,
        "tables": sorted(project.tables),
        "files": sorted(project.files),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
        zf.writestr("schema.json", json.dumps(project.data.schema.to_spec(), indent=2, ensure_ascii=False))
        zf.writestr("data.csv", project.data.to_csv_bytes())
        zf.writestr("settings.json", json.dumps(project.settings, indent=2, ensure_ascii=False))
        zf.writestr("results.json", json.dumps(project.results, indent=2, ensure_ascii=False))
        for name, table in sorted(project.tables.items()):
            zf.writestr(f"tables/{name}.csv", table.to_csv(index=False))
        for name, text in sorted(project.files.items()):
            zf.writestr(f"files/{name}", text)
    return buffer.getvalue()


def open_project(content: bytes) -> Project:
    """Read a saved project; raises ProjectError (never anything else) for a bad file."""
    if len(content) > MAX_PROJECT_BYTES:
        raise ProjectError(f"the project file is over {MAX_PROJECT_BYTES // 2**20} MB")
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ProjectError("this is not a ProcessTwin project (not a zip file)") from exc
    with zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED_BYTES:
            raise ProjectError("the project expands to more than 200 MB")
        manifest = _json(zf, "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ProjectError("this zip file is not a ProcessTwin project")
        if manifest.get("version") != VERSION:
            raise ProjectError(f"project format version {manifest.get('version')} is not supported")
        try:
            schema = Schema.from_json(_json(zf, "schema.json"))
        except SchemaError as exc:
            raise ProjectError(f"schema.json: {exc}") from exc
        result = load_doe(_read(zf, "data.csv"), filename="data.csv", schema=schema)
        if result.data is None or result.report.errors:
            first = result.report.errors[0].message if result.report.errors else "no data"
            raise ProjectError(f"data.csv of the project is not valid: {first}")
        settings, results = _json(zf, "settings.json"), _json(zf, "results.json")
        if not isinstance(settings, dict) or not isinstance(results, dict):
            raise ProjectError("settings.json and results.json must hold JSON objects")
        tables = {}
        for name in manifest.get("tables", []):
            if not isinstance(name, str) or not TABLE_NAME.match(name):
                raise ProjectError(f"bad table name in the manifest: {name!r}")
            try:
                table = _read(zf, f"tables/{name}.csv")
                tables[name] = pd.read_csv(io.BytesIO(table), float_precision="round_trip")
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise ProjectError(f"tables/{name}.csv cannot be read: {exc}") from exc
        files = {}
        for name in manifest.get("files", []):
            if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
                raise ProjectError(f"bad file name in the manifest: {name!r}")
            try:
                files[name] = _read(zf, f"files/{name}").decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ProjectError(f"files/{name} is not UTF-8 text") from exc
    return Project(result.data, str(manifest.get("name", "project")), settings, results, tables, files)


def model_files(result: FitResult) -> dict[str, str]:
    """The files that rebuild `result` without a search, named for a project's `files`."""
    return {MODEL_PREFIX + name: text for name, text in run_files(result).items() if name in MODEL_RUN_FILES}


def saved_models(project: Project, n_jobs: int | None = None) -> FitResult | None:
    """The project's models re-fitted from their saved configuration (None when it holds none).

    Raises `core.models.persistence.RunFormatError` when the saved configuration cannot be rebuilt.
    """
    files = {name[len(MODEL_PREFIX) :]: text for name, text in project.files.items() if name.startswith(MODEL_PREFIX)}
    if not files:
        return None
    return replace(result_from_files(files, n_jobs=n_jobs), schema=project.data.schema)  # the project keeps it


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError as exc:
        raise ProjectError(f"the project has no {name}") from exc
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ProjectError(f"{name} in the project is damaged") from exc


def _json(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(_read(zf, name).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectError(f"{name} in the project is not valid JSON") from exc
