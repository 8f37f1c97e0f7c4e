"""A fit run on disk as JSON and CSV only; loading re-fits the chosen models deterministically.

Files of a run:

* ``settings.json``: fit settings and seed, input names, per CQA the chosen
  family and the feature set it sees (raw, descriptors or both), every
  family's best hyper-parameters and the training/hold-out row
  ids, plus a few saved predictions that loading checks the re-fit against;
* ``metrics.json``: `FitResult.metrics_dict()`;
* ``data.csv`` (and ``holdout.csv``): the rows the models were fitted on;
* ``predictions.csv``: measured against predicted for every row, for review;
* ``schema.json``: the data's schema as a schema file (design bounds, extra inputs and CQAs, solubility
  curve), when the data came with one; runs without it use the template's.

Nothing is unpickled: a loaded run is rebuilt from these files, so a run
directory (or a project holding these files) is safe to open from anyone.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import xgboost

from core.doe import Schema
from core.models.datasets import CQADataset, ModelData
from core.models.fitting import CQAFit, FitResult, FitSettings
from core.models.metrics import CQAMetrics
from core.run_directory import write_files

FORMAT = "processtwin-models"
VERSION = 1
RUN_FILES = ("settings.json", "metrics.json", "data.csv")
SCHEMA_FILE = "schema.json"  # optional: the data's schema
N_CHECK_ROWS = 5


class RunFormatError(ValueError):
    """A run directory that cannot be loaded, with a plain-words reason."""


def run_files(result: FitResult) -> dict[str, str]:
    """File name -> text of everything needed to rebuild `result`."""
    cqas = {}
    for cqa, fit in result.fits.items():
        ds = fit.dataset
        check = ds.X_train.iloc[:N_CHECK_ROWS].to_numpy(float)
        mean, std = fit.ensemble.predict(check, return_std=True)
        cqas[cqa] = {
            "family": fit.chosen,
            "features": fit.ensemble.features,
            "params": fit.metrics.models[fit.chosen].params,
            "train_rows": ds.y_train.index.tolist(),
            "test_rows": ds.y_test.index.tolist(),
            "holdout_source": ds.holdout_source,
            "check": {"mean": mean.tolist(), "std": std.tolist()},
        }
    spec = {
        "format": FORMAT,
        "version": VERSION,
        "settings": result.settings.to_dict(),
        "input_names": result.input_names,
        "cqas": cqas,
        "skipped": result.skipped,
        "versions": {"scikit-learn": sklearn.__version__, "xgboost": xgboost.__version__, "numpy": np.__version__},
    }
    files = {
        "settings.json": json.dumps(spec, indent=2, ensure_ascii=False),
        "metrics.json": json.dumps(result.metrics_dict(), indent=2, ensure_ascii=False),
        "data.csv": _csv(result.data.to_frame()),
    }
    if result.schema is not None:
        files[SCHEMA_FILE] = json.dumps(result.schema.to_spec(), indent=2, ensure_ascii=False)
    if result.holdout is not None:
        files["holdout.csv"] = _csv(result.holdout.to_frame())
    tables = [f.prediction_table().assign(cqa=c) for c, f in result.fits.items()]
    if tables:
        files["predictions.csv"] = pd.concat(tables, ignore_index=True).to_csv(index=False)
    return files


def _csv(frame: pd.DataFrame) -> str:
    """17 significant digits: the re-fit must see exactly the numbers the fit saw."""
    return frame.to_csv(index=False, float_format="%.17g")


def save_run(result: FitResult, directory: str | Path) -> Path:
    return write_files(run_files(result), directory)


def load_run(directory: str | Path, n_jobs: int | None = None) -> FitResult:
    """Rebuild a saved run; raises RunFormatError with a plain reason when it cannot."""
    folder = Path(directory)
    if not folder.is_dir():
        raise RunFormatError(f"{folder} is not a run directory")
    files = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.suffix in (".json", ".csv")}
    return result_from_files(files, n_jobs=n_jobs)


def result_from_files(files: Mapping[str, str], n_jobs: int | None = None) -> FitResult:
    """Rebuild a run from the texts `run_files` wrote: chosen models and ensembles are re-fitted.

    Only the chosen family's pipeline is rebuilt (`CQAFit.pipelines` holds just
    that one and `searches` is empty); `with_choice` still works because every
    family's best hyper-parameters are kept in the metrics.
    """
    missing = [name for name in RUN_FILES if name not in files]
    if missing:
        raise RunFormatError(f"the run is missing {', '.join(missing)}")
    spec = _json(files, "settings.json")
    metrics_json = _json(files, "metrics.json")
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise RunFormatError("settings.json does not describe a ProcessTwin model run")
    if spec.get("version") != VERSION:
        raise RunFormatError(f"model run format version {spec.get('version')} is not supported")
    try:
        settings = FitSettings.from_dict(spec["settings"])
        input_names = [str(c) for c in spec["input_names"]]
        cqa_specs: dict[str, Any] = spec["cqas"]
        data = _model_data(files["data.csv"], input_names, list(cqa_specs), "data.csv")
        holdout = None
        if "holdout.csv" in files:
            holdout = _model_data(files["holdout.csv"], input_names, list(cqa_specs), "holdout.csv")
        fits = {
            cqa: _refit(cqa, s, CQAMetrics.from_dict(metrics_json[cqa]), settings, data, holdout, n_jobs)
            for cqa, s in cqa_specs.items()
        }
        schema = Schema.from_json(_json(files, SCHEMA_FILE)) if SCHEMA_FILE in files else None
    except RunFormatError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # SchemaError is a ValueError
        raise RunFormatError(f"the run cannot be rebuilt: {_reason(exc)}") from None
    return FitResult(settings, input_names, fits, dict(spec.get("skipped", {})), data, holdout, schema=schema)


def _reason(exc: Exception) -> str:
    return f"missing entry {exc}" if isinstance(exc, KeyError) else str(exc)


def _json(files: Mapping[str, str], name: str) -> Any:
    try:
        return json.loads(files[name])
    except json.JSONDecodeError as exc:
        raise RunFormatError(f"{name} is not valid JSON (line {exc.lineno})") from None


def _model_data(text: str, input_names: list[str], cqa_names: list[str], name: str) -> ModelData:
    """The saved rows; a hold-out file need not hold every CQA."""
    try:
        frame = pd.read_csv(io.StringIO(text), float_precision="round_trip")
        return ModelData.from_frame(frame, input_names, [c for c in cqa_names if c in frame.columns])
    except (ValueError, pd.errors.ParserError) as exc:
        raise RunFormatError(f"{name}: {exc}") from None


def _refit(
    cqa: str,
    spec: Mapping[str, Any],
    metrics: CQAMetrics,
    settings: FitSettings,
    data: ModelData,
    holdout: ModelData | None,
    n_jobs: int | None,
) -> CQAFit:
    train_rows, test_rows = spec["train_rows"], spec["test_rows"]
    test_source = holdout if spec["holdout_source"] == "file" else data
    if test_source is None:
        raise RunFormatError(f"{cqa} was tested on a hold-out file that the run does not contain")
    for rows, source, name in ((train_rows, data, "data.csv"), (test_rows, test_source, "the hold-out rows")):
        unknown = [r for r in rows if r not in source.inputs.index]
        if unknown:
            raise RunFormatError(f"{cqa}: rows {unknown[:5]} are not in {name}")
    ds = CQADataset(
        cqa,
        data.inputs.loc[train_rows],
        data.cqas.loc[train_rows, cqa],
        test_source.inputs.loc[test_rows],
        test_source.cqas.loc[test_rows, cqa] if cqa in test_source.cqas else pd.Series(dtype=float, name=cqa),
        data.profile_types.loc[train_rows],
        test_source.profile_types.loc[test_rows],
        spec["holdout_source"],
    )
    # runs saved before feature sets existed used the raw columns
    features = spec.get("features", "raw")
    ensemble = settings.ensemble(spec["family"], spec["params"], features, ds.X_train.columns, n_jobs).fit(
        ds.X_train.to_numpy(float),
        ds.y_train.to_numpy(float),
        # runs saved before feature sets existed were calibrated without profile types
        groups=ds.types_train.to_numpy() if "features" in spec and settings.validation == "types" else None,
    )
    check = ds.X_train.iloc[:N_CHECK_ROWS].to_numpy(float)
    mean, std = ensemble.predict(check, return_std=True)
    saved = spec["check"]
    if not (np.allclose(mean, saved["mean"], rtol=1e-6) and np.allclose(std, saved["std"], rtol=1e-6)):
        warnings.warn(
            f"the re-fitted {cqa} model predicts differently from the saved run "
            "(different library versions?); its metrics are those of the saved run",
            stacklevel=3,
        )
    return CQAFit(cqa, ds, {}, {spec["family"]: ensemble.model_}, ensemble, metrics)
