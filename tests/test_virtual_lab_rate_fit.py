"""The virtual lab's rate constants fitted to a compound's runs, and the simulations kept per parameter set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.doe import load_doe
from core.models.datasets import ModelData
from core.virtual_lab import ModelParameters, rate_fit, simulate_rows
from core.virtual_lab.parameters import RATE_CONSTANTS
from core.virtual_lab.rate_fit import fit_rate_constants, fitted_parameters
from core.virtual_lab.transfer import CorrespondingStates, SimulationCache

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "doe.csv"
AS_THEY_ARE = CorrespondingStates()  # the runs simulated at their own concentrations


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    data = load_doe(SAMPLE).data
    return ModelData.from_doe(data).inputs[data.schema.input_names].reset_index(drop=True)


def measured(inputs: pd.DataFrame, params: ModelParameters) -> pd.DataFrame:
    return simulate_rows(inputs, params=params, bounds=None).drop(columns="error")


def test_fitted_parameters_multiply_every_rate_constant_by_its_factor():
    factors = np.linspace(-1.0, 1.0, len(RATE_CONSTANTS))
    params, base = fitted_parameters(factors), ModelParameters()
    for name, f in zip(RATE_CONSTANTS, factors, strict=True):
        assert getattr(params, name) == pytest.approx(getattr(base, name) * np.exp(f))
    assert params.growth_order == base.growth_order and params.solubility_a == base.solubility_a


def test_a_fit_to_another_compounds_runs_predicts_its_other_runs_better_than_the_default(runs, monkeypatch):
    monkeypatch.setattr(rate_fit, "SCREEN", 4)
    monkeypatch.setattr(rate_fit, "MAX_EVALUATIONS", 40)
    compound = fitted_parameters(np.array([0.5, 0.0, -0.7, 0.0, 0.0, 0.4, 0.0, 0.3]))
    train, test = runs.iloc[:16], runs.iloc[16:]
    fit = fit_rate_constants(train, measured(train, compound), AS_THEY_ARE)
    assert fit.simulations <= 40
    assert fit.misfit < 0.5 * fit.misfit_default
    truth = np.log(measured(test, compound)["D50"])
    errors = {
        name: np.sqrt(np.mean((np.log(measured(test, params)["D50"]) - truth) ** 2))
        for name, params in (("default", ModelParameters()), ("fitted", fit.params))
    }
    assert errors["fitted"] < 0.5 * errors["default"], errors


def test_the_fit_is_deterministic_and_keeps_to_its_budget(runs, monkeypatch):
    monkeypatch.setattr(rate_fit, "SCREEN", 2)
    monkeypatch.setattr(rate_fit, "MAX_EVALUATIONS", 12)
    train = runs.iloc[:8]
    cqas = measured(train, fitted_parameters(np.full(len(RATE_CONSTANTS), 0.3)))
    first, again = (fit_rate_constants(train, cqas, AS_THEY_ARE) for _ in range(2))
    assert first == again
    assert fit_rate_constants(train, cqas, AS_THEY_ARE, n_jobs=2) == first  # the runs are simulated in chunks
    assert first.simulations <= 12
    assert set(first.log_factors) == set(RATE_CONSTANTS)
    longer = fit_rate_constants(train, cqas, AS_THEY_ARE, max_evaluations=21)  # the same search, a step further
    assert longer.simulations > first.simulations and longer.misfit <= first.misfit


def test_a_factor_set_evaluated_before_is_not_simulated_again_but_counts(runs):
    rows = runs.iloc[:6]
    cqas = measured(rows, fitted_parameters(np.full(len(RATE_CONSTANTS), 0.2)))
    x, other = np.full(len(RATE_CONSTANTS), 0.1), np.zeros(len(RATE_CONSTANTS))
    reused = rate_fit._Misfit(rows, cqas, 1, None, rate_fit.MAX_EVALUATIONS)
    reused.residuals([x, other])  # as the screen does; least squares then starts from x, not the last set
    fresh = rate_fit._Misfit(rows, cqas, 1, None, rate_fit.MAX_EVALUATIONS)
    np.testing.assert_array_equal(reused.residuals([x])[0], fresh.residuals([x])[0])
    np.testing.assert_array_equal(reused.jacobian(x), fresh.jacobian(x))
    assert reused.simulations == 2 + len(x) and fresh.simulations == 1 + len(x)
    assert reused.evaluations == 4 + len(x)  # every set asked for counts against the budget


def test_too_few_measurements_are_refused_plainly(runs):
    cqas = pd.DataFrame({"D50": [40.0, 45.0] + [np.nan] * 6}, index=runs.index[:8])
    with pytest.raises(ValueError, match="at least 3 measurements"):
        fit_rate_constants(runs.iloc[:8], cqas, AS_THEY_ARE)


def test_the_cache_keeps_each_parameter_sets_simulations_apart(runs):
    cache, rows = SimulationCache(), runs.iloc[:3]
    other = fitted_parameters(np.full(len(RATE_CONSTANTS), 0.5))
    default, moved = cache.simulate(rows), cache.simulate(rows, params=other)
    assert len(cache) == 6
    assert not np.allclose(default["D50"], moved["D50"])
    assert cache.missing(rows, other) == 0 and cache.missing(rows, fitted_parameters(np.zeros(8) + 0.1)) == 3
    pd.testing.assert_frame_equal(cache.simulate(rows, params=other), moved)
