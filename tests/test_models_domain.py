import numpy as np
import pandas as pd
import pytest

from core.doe import load_doe
from core.models.domain import ABOVE_SEEDING, ApplicabilityDomain
from core.profiles import ThermocycleProfile


@pytest.fixture(scope="module")
def inputs() -> pd.DataFrame:
    return load_doe("sample_data/doe.csv").data.inputs


def test_training_runs_are_in_the_domain_and_a_far_point_is_not(inputs):
    domain = ApplicabilityDomain().fit(inputs)
    assert domain.in_domain(inputs).all()
    far = inputs.iloc[:1].assign(initial_concentration=inputs["initial_concentration"].max() * 5)
    assert not domain.in_domain(far)[0]
    assert domain.score(far)[0] > 3


def test_score_is_relative_to_the_training_runs_own_leave_one_out_distances():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    domain = ApplicabilityDomain(space="as_given", n_neighbors=1, quantile=1.0).fit(X)
    # standardised spacing is 1/std; every run's nearest other run is one step away
    assert domain.reference_ == pytest.approx(1 / X.std())
    assert domain.score(np.array([[1.5]]))[0] == pytest.approx(0.5)
    assert domain.score(np.array([[5.0]]))[0] == pytest.approx(2.0)
    assert domain.in_domain(np.array([[3.9], [4.1]])).tolist() == [True, False]
    lonely = ApplicabilityDomain(space="as_given", n_neighbors=1, quantile=0.5).fit(np.array([[0.0], [1.0], [5.0]]))
    # leave-one-out distances 1, 1 and 4 steps; the median of them is the unit
    np.testing.assert_allclose(lonely.left_out_scores(), [1.0, 1.0, 4.0])


def test_a_cycled_design_between_cycled_runs_is_nearer_than_one_far_from_them(inputs):
    domain = ApplicabilityDomain().fit(inputs)
    base = {"initial_concentration": 40.0, "seed_loading": 0.1}
    near = ThermocycleProfile((60, 35, 45, 25, 35, 15, 25, 8), (0.2, 0.2, 0.2, 0.2), (0.7, 0.7, 0.7))
    odd = ThermocycleProfile((70, 69, 70, 69, 70, 69, 70, 69), (0.05,) * 4, (1.0,) * 3)
    rows = pd.DataFrame([{**base, **p.to_features()} for p in (near, odd)])[inputs.columns]
    near_score, odd_score = domain.score(rows)
    assert near_score < odd_score


def test_invalid_rows_score_infinity_and_bad_settings_are_refused(inputs):
    domain = ApplicabilityDomain().fit(inputs)
    broken = inputs.iloc[:1].copy()
    broken[["T2", "T3", "T4"]] = 0.0
    broken["T1"] = 0.0
    assert np.isinf(domain.score(broken)[0])
    with pytest.raises(ValueError, match="quantile"):
        ApplicabilityDomain(quantile=0).fit(inputs)
    with pytest.raises(ValueError, match="at least two"):
        ApplicabilityDomain().fit(inputs.iloc[:1])


def test_a_run_started_far_above_the_seeding_line_is_outside_though_every_input_is_within_range(inputs):
    domain = ApplicabilityDomain().fit(inputs)
    line = domain.seeding_
    dilute = inputs.loc[[inputs["initial_concentration"].idxmin()]]
    hot = dilute.assign(T1=dilute["T1"] + 15.0)  # as hot as the concentrated runs start
    on_line = hot.assign(initial_concentration=(hot["T1"] - line.intercept) / line.slope)
    assert inputs["T1"].min() <= hot["T1"].iloc[0] <= inputs["T1"].max()
    assert not domain.in_domain(hot)[0]
    assert domain.in_domain(on_line)[0]


def test_a_reheat_far_above_the_seeding_line_is_outside(inputs):
    domain = ApplicabilityDomain().fit(inputs)
    cycled = inputs[inputs["T3"] > 0].iloc[[0]]
    assert domain.in_domain(cycled)[0]
    assert not domain.in_domain(cycled.assign(T3=cycled["T1"] + 8.0))[0]


def test_without_a_seeding_line_the_domain_uses_the_descriptors_alone(inputs):
    one_concentration = inputs.assign(initial_concentration=40.0)
    domain = ApplicabilityDomain().fit(one_concentration)
    assert domain.seeding_ is None
    assert ABOVE_SEEDING not in domain.feature_names_
    assert ABOVE_SEEDING in ApplicabilityDomain().fit(inputs).feature_names_
    assert domain.in_domain(one_concentration).all()
