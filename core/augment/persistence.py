"""Augmentation results in a run directory: ``augment.json`` (one entry per CQA), ``augment_settings.json``
(format, version and study settings) and ``synthetic_<CQA>.csv``.

Nothing is pickled: loading reads the chosen (generator, m, α) and the saved
synthetic rows and refits each augmented ensemble deterministically on the
run's training rows, exactly as `augment_fit` did.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from core.augment.result import AugmentResult, CQAAugment, augmented_ensemble
from core.augment.study import AugmentSettings
from core.models.fitting import CQAPredictor, FitResult
from core.models.persistence import RunFormatError, load_run
from core.run_directory import write_files

FORMAT = "processtwin-augment"
VERSION = 1
AUGMENT_FILE = "augment.json"
SETTINGS_FILE = "augment_settings.json"


FILE_PREFIXES = ("augment", "synthetic_")


def synthetic_file(cqa: str) -> str:
    return f"synthetic_{cqa}.csv"


def augment_files(result: AugmentResult) -> dict[str, str]:
    spec = result.to_dict()
    files = {
        AUGMENT_FILE: json.dumps(spec["cqas"], indent=2),
        SETTINGS_FILE: json.dumps({"format": FORMAT, "version": VERSION, "settings": spec["settings"]}, indent=2),
    }
    for cqa, rows in result.synthetic.items():
        files[synthetic_file(cqa)] = rows.to_csv(index=False, float_format="%.17g")
    return files


def save_augment(result: AugmentResult, directory: str | Path) -> Path:
    return write_files(augment_files(result), directory)


def load_augment(directory: str | Path, fit: FitResult, n_jobs: int | None = None) -> AugmentResult | None:
    """The saved augmentation of `fit`'s run, refitted; None when the run has none."""
    folder = Path(directory)
    if not (folder / AUGMENT_FILE).exists():
        return None
    files = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*") if p.name.startswith(FILE_PREFIXES)}
    return augment_from_files(files, fit, n_jobs)


def augment_from_files(files: Mapping[str, str], fit: FitResult, n_jobs: int | None = None) -> AugmentResult:
    """An augmentation from the texts of its files (`augment_files`), each augmented ensemble refitted."""
    spec, cqas = _json(files, SETTINGS_FILE), _json(files, AUGMENT_FILE)
    if not isinstance(spec, dict) or spec.get("format") != FORMAT or spec.get("version") != VERSION:
        raise RunFormatError(f"{SETTINGS_FILE} does not describe a ProcessTwin augmentation (version {VERSION})")
    try:
        result = AugmentResult(
            AugmentSettings.from_dict(spec["settings"]),
            {c: CQAAugment.from_dict(a) for c, a in cqas.items()},
        )
        fit_settings = fit.settings.to_dict()
        for cqa, aug in result.cqas.items():
            if not aug.augmented:
                continue
            if cqa not in fit.fits:
                raise RunFormatError(f"{AUGMENT_FILE} augments {cqa}, which the run has no model for")
            name = synthetic_file(cqa)
            if name not in files:
                raise RunFormatError(f"the run is missing {name}")
            rows = pd.read_csv(io.StringIO(files[name]), float_precision="round_trip")
            result.synthetic[cqa] = rows
            result.ensembles[cqa] = augmented_ensemble(fit.fits[cqa], rows, aug.alpha, fit_settings, n_jobs)
    except RunFormatError:
        raise
    except (KeyError, TypeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RunFormatError(f"{AUGMENT_FILE} cannot be used: {exc}") from None
    return result


def _json(files: Mapping[str, str], name: str) -> Any:
    if name not in files:
        raise RunFormatError(f"the run is missing {name}")
    try:
        return json.loads(files[name])
    except json.JSONDecodeError as exc:
        raise RunFormatError(f"{name} is not valid JSON (line {exc.lineno})") from None


def load_predictor(directory: str | Path, n_jobs: int | None = None) -> tuple[FitResult, CQAPredictor]:
    """The run's models and its predictor, with augmented CQAs swapped in when the run has an augmentation."""
    fit = load_run(directory, n_jobs=n_jobs)
    augment = load_augment(directory, fit, n_jobs)
    return fit, (augment.predictor(fit) if augment is not None else fit.predictor())
