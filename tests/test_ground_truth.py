import numpy as np

from core.doe import Schema
from core.optimize.ground_truth import coverage_summary, ground_truth_check
from core.optimize.run import optimize_profiles
from core.optimize.spec import DesignSpec
from core.virtual_lab.simulator import simulate_rows
from tests.conftest import surrogate


def test_ground_truth_compares_predictions_with_the_simulator():
    schema = Schema.default()
    points = optimize_profiles(surrogate, schema, DesignSpec(n_temperatures=(4,), pop_size=8, n_gen=2)).points.head(3)
    check = ground_truth_check(points, schema)
    direct = simulate_rows(points[schema.input_names].reset_index(drop=True), bounds=None)
    assert np.allclose(check["D50_simulated"], direct["D50"])
    assert np.allclose(check["D50_predicted"], points["D50_mean"])
    z = (check["DoA_simulated"] - check["DoA_predicted"]) / check["DoA_std"]
    assert np.allclose(check["DoA_error_sigmas"], z)
    summary = coverage_summary(check).set_index("cqa")
    assert summary.loc["D50", "n"] == len(points)
    assert summary.loc["D50", "within_1sd"] == (check["D50_error_sigmas"].abs() <= 1).mean()
