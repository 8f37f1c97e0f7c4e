"""Operating data on disk: CSV or Parquet plus a JSON sidecar, and the chronological split.

The sidecar ``<name>.meta.json`` holds the network configuration, PI tuning,
safety settings, noise and disturbance schedule, so a data file can be
trained on (and re-simulated) without guessing how it was made. A file
without a sidecar is read with the default network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.reactors.network import NetworkConfig, series_parallel
from core.reactors.plant import input_columns, state_columns

SPLITS = ("train", "validation", "test")
SUFFIXES = (".csv", ".parquet")


class ReactorDataError(ValueError):
    """Operating data that cannot be used, with a plain-words reason."""


@dataclass
class OperatingData:
    frame: pd.DataFrame
    config: NetworkConfig
    metadata: dict

    def split(self) -> dict[str, pd.DataFrame]:
        return split_chronological(self.frame)


def split_chronological(frame: pd.DataFrame, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict:
    """First 80 % of the record for training, the next 10 % for validation, the last 10 % for testing.

    Uses the ``split`` column when the frame has one.
    """
    if "split" in frame.columns:
        return {name: frame[frame["split"] == name] for name in SPLITS}
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError("Split fractions must be three positive numbers that sum to 1.")
    cut_train = round(fractions[0] * len(frame))
    cut_val = round((fractions[0] + fractions[1]) * len(frame))
    return {
        "train": frame.iloc[:cut_train],
        "validation": frame.iloc[cut_train:cut_val],
        "test": frame.iloc[cut_val:],
    }


def label_splits(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of the frame with a ``split`` column naming each row's part."""
    labelled = frame.drop(columns="split", errors="ignore").copy()
    labels = np.empty(len(frame), dtype=object)
    position = 0
    for name, part in split_chronological(labelled).items():
        labels[position : position + len(part)] = name
        position += len(part)
    labelled["split"] = labels
    return labelled


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + ".meta.json")


def save_operating_data(frame: pd.DataFrame, metadata: dict, path: str | Path) -> Path:
    """Write the data (format from the suffix) and its sidecar; returns the data path."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ReactorDataError(
            f"Save operating data as .csv or .parquet, not {path.suffix or 'a file without suffix'}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    labelled = label_splits(frame)
    if path.suffix.lower() == ".csv":
        labelled.to_csv(path, index=False)
    else:
        labelled.to_parquet(path, index=False)
    sidecar_path(path).write_text(json.dumps(metadata, indent=1))
    return path


def load_operating_data(path: str | Path) -> OperatingData:
    """Read and check operating data; raises `ReactorDataError` with a plain message."""
    path = Path(path)
    if not path.exists():
        raise ReactorDataError(f"No data file at {path}.")
    if path.suffix.lower() not in SUFFIXES:
        raise ReactorDataError(f"Operating data must be a .csv or .parquet file, not {path.suffix or 'no suffix'}.")
    try:
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise ReactorDataError(f"Could not read {path.name}: {error}") from None
    metadata: dict = {}
    config = series_parallel()
    meta_path = sidecar_path(path)
    if meta_path.exists():
        try:
            metadata = json.loads(meta_path.read_text())
            config = NetworkConfig.from_dict(metadata["config"])
        except (ValueError, KeyError, TypeError) as error:
            raise ReactorDataError(f"The sidecar {meta_path.name} is not valid: {error}") from None
    required = ["time_min", *state_columns(config), *input_columns(config)]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ReactorDataError(
            f"{path.name} lacks {len(missing)} of the {len(required)} required columns, e.g. {', '.join(missing[:5])}."
        )
    numeric = frame[required].apply(pd.to_numeric, errors="coerce")
    bad_rows = numeric.isna().any(axis=1)
    if bad_rows.any():
        first = int(np.flatnonzero(bad_rows.to_numpy())[0])
        raise ReactorDataError(
            f"{path.name} has {int(bad_rows.sum())} rows with blank or non-numeric values "
            f"(first at data row {first + 1})."
        )
    times = numeric["time_min"].to_numpy()
    if len(times) > 1 and not (np.diff(times) > 0).all():
        raise ReactorDataError(f"{path.name}: time_min must increase from row to row.")
    frame[required] = numeric
    return OperatingData(frame, config, metadata)
