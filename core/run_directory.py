"""The one writer of run directories: a fitted run and its augmentation are sets of named CSV/JSON texts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def write_files(files: Mapping[str, str], directory: str | Path) -> Path:
    """Write each named text into `directory` (created when missing) as UTF-8; returns the directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return out
