"""Shared fixtures: small valid DoE sheets built from the template's example profiles, and a small reactor network."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from core.doe import DoEData, Schema, load_doe
from core.doe.template import EXAMPLES, template_header
from core.models.fitting import FitResult, fit_cqa_models
from tests.browser import chromium

if TYPE_CHECKING:
    from core.reactors.control import PIConfig
    from core.reactors.network import NetworkConfig


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


def surrogate(features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """More cycles and slow cooling: larger D50, lower DoA, more crystalline; std grows away from T2 = 30."""
    n_heat = (features[[f"H{i}" for i in range(1, 5)]] > 0).sum(axis=1).to_numpy()
    c1 = features["C1"].to_numpy()
    std = 0.5 + 0.2 * np.abs(features["T2"].to_numpy() - 30)
    return {
        "D50": (20 + 5 * n_heat - 30 * c1 - 0.1 * features["initial_concentration"].to_numpy(), std),
        "DoA": (70 - 6 * n_heat + 40 * c1 + 50 * features["seed_loading"].to_numpy(), std),
        "crystallinity": (60 + 8 * n_heat - 20 * c1, 0.5 * std),
    }


TINY_RF = {"n_estimators": [10], "max_depth": [None], "min_samples_split": [2], "min_samples_leaf": [1]}


@cache
def small_data() -> DoEData:
    """A small project: every template profile four times (24 runs)."""
    return load_doe(to_csv_bytes(doe_frame(4)), filename="small.csv").data


@cache
def small_data_heating_up_at_most(times: int) -> DoEData:
    """The small project's runs that heat up at most `times` times."""
    few = [k for k, (*_, profile) in enumerate(EXAMPLES) if len(profile.heating_rates) <= times]
    frame = doe_frame(4)
    frame = frame[frame["run_id"].map(lambda run: int(run.rsplit("-", 1)[1]) in few)]
    return load_doe(to_csv_bytes(frame), filename="few_cycles.csv").data


@cache
def tiny_fit_heating_up_at_most(times: int) -> FitResult:
    """`tiny_fit`'s models of `small_data_heating_up_at_most(times)`."""
    return fit_cqa_models(small_data_heating_up_at_most(times), families=("rf",), grids={"rf": TINY_RF}, n_members=3)


@cache
def noisy_crystallinity_project() -> tuple[DoEData, FitResult]:
    """The small project with crystallinity replaced by noise unrelated to the inputs, and `tiny_fit`'s models of it:
    no model can beat the runs' mean on that CQA."""
    frame = doe_frame(4)
    frame["crystallinity (%)"] = np.random.default_rng(5).normal(90.0, 3.0, len(frame)).round(1)
    data = load_doe(to_csv_bytes(frame), filename="noisy.csv").data
    return data, fit_cqa_models(data, families=("rf",), grids={"rf": TINY_RF}, n_members=3)


@cache
def tiny_fit() -> FitResult:
    """Quickly fitted models of `small_data`: a small random forest with a three-member ensemble."""
    return fit_cqa_models(small_data(), families=("rf",), grids={"rf": TINY_RF}, n_members=3, random_state=0)


def to_xlsx_bytes(frames: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


@pytest.fixture
def valid_frame() -> pd.DataFrame:
    return doe_frame()


@pytest.fixture(scope="session")
def reactor_config() -> NetworkConfig:
    """The default ten-reactor network."""
    from core.reactors.network import series_parallel  # imported here: the reactor package loads torch

    return series_parallel()


@pytest.fixture(scope="session")
def reactor_pi() -> PIConfig:
    """Fixed PI gains and integral times (min) per reactor, so tests need not tune the loops."""
    from core.reactors.control import PIConfig

    return PIConfig(
        (2.0, 2.0, 4.0, 4.0, 2.0, 2.0, 4.0, 4.0, 4.0, 4.0), (0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0)
    )


@pytest.fixture(scope="session")
def operating_record(reactor_config, reactor_pi) -> Callable[[float, int], pd.DataFrame]:
    """Simulated operating data of the default network under the fixed PI loops, each length and seed run once."""
    from core.reactors.scenarios import generate_operating_data

    @cache
    def simulate(hours: float, seed: int) -> pd.DataFrame:
        return generate_operating_data(reactor_config, hours, random_state=seed, pi=reactor_pi)[0]

    return simulate


@pytest.fixture(scope="session")
def tiny_learner() -> dict:
    """DynamicsLearner settings that train in a second or two on a few hours of data."""
    return {"hidden": 16, "window": 4, "batch_size": 64, "eval_every": 10, "rollout_steps": 2, "lr": 1e-2}


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


@pytest.fixture()
def cheap_lab_prior(monkeypatch):
    """A cheap virtual-lab prior: a small design and a short fit of the rate constants. The tests check behaviour,
    not how well the searches find the simulator's front or the compound's constants."""
    from core.plan import lab_prior
    from core.virtual_lab import rate_fit

    for name, value in (("SOBOL_PER_TYPE", 4), ("SEARCH_POP", 4), ("SEARCH_GEN", 2)):
        monkeypatch.setattr(lab_prior, name, value)
    monkeypatch.setattr(rate_fit, "SCREEN", 2)
    monkeypatch.setattr(rate_fit, "MAX_EVALUATIONS", 12)
