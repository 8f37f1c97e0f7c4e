"""Shared fixtures: small valid DoE sheets built from the template's example profiles."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.doe import Schema
from core.doe.template import EXAMPLES, template_header
from tests.browser import chromium


def doe_frame(n_repeats: int = 2) -> pd.DataFrame:
    """A valid DoE in template headers: every example profile, with CQAs that vary by row."""
    schema = Schema.default()
    header = template_header(schema)
    rows = []
    for rep in range(n_repeats):
        for k, (_, conc, seed, profile) in enumerate(EXAMPLES):
            features = profile.to_features()
            row = [f"run-{rep}-{k}", conc + rep, seed]
            row += [features[n] or None for n in schema.input_names[2:]]
            row += [20.0 + 3 * k + rep, 80.0 - 5 * k if k % 2 == 0 else None, 60.0 + 4 * k if rep == 0 else None]
            row.append("")
            rows.append(row)
    return pd.DataFrame(rows, columns=header)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def to_xlsx_bytes(frames: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


@pytest.fixture
def valid_frame() -> pd.DataFrame:
    return doe_frame()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium the browser tests are skipped (the run still reports them), unless CI requires them."""
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if not browser_items or chromium.find_chromium() or chromium.browser_required():
        return
    skip = pytest.mark.skip(reason=chromium.SKIP_REASON)
    for item in browser_items:
        item.add_marker(skip)


def pytest_unconfigure(config: pytest.Config) -> None:
    """End a run that skipped the browser tests with one line that names them and how to enable them.

    Written after pytest's own "N passed, M skipped" line, so it is the last thing a reader sees.
    """
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = [
        report.nodeid
        for report in reporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and chromium.SKIP_REASON in str(report.longrepr[2])
    ]
    if skipped:
        reporter.write_sep("!", "browser tests skipped", red=True, bold=True)
        reporter.write_line(chromium.missing_browser_line(skipped), red=True, bold=True)
