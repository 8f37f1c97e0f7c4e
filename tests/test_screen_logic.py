"""What the screens compute, tested in core without Streamlit: bounds tables, chart axes, verdict tables,
column roles, the α grid, study tables and planned-run tables."""

import math

import pandas as pd
import pytest

from core.augment import CQAAugment
from core.augment.study import alpha_grid
from core.doe import Schema
from core.doe.schema import spec_with_roles
from core.optimize.bounds_table import FINAL, GROUPS, START, bounds_table, read_bounds_table
from core.optimize.ground_truth import spread_sample
from core.optimize.run import DesignResult
from core.optimize.spec import BATCH_TIME, DesignSpec, Objective
from core.plan.propose import Plan, PlanSpec
from core.plan.verdict import prediction_vs_measured, within_two_sigma

START_T, END_T = (50.0, 70.0), (5.0, 15.0)


def test_the_bounds_table_lists_scalars_profile_kinds_and_temperature_ranges():
    table = bounds_table(Schema.default(), START_T, END_T)
    assert table["variable"].tolist() == ["initial_concentration", "seed_loading", *GROUPS.values(), START, FINAL]
    assert tuple(table.iloc[-2][["low", "high"]]) == START_T


def test_editing_a_kind_bounds_every_variable_of_that_kind():
    schema = Schema.default()
    table = bounds_table(schema, START_T, END_T)
    table.loc[table["variable"] == GROUPS["C1"], ["low", "high"]] = [0.1, 0.3]
    table.loc[table["variable"] == FINAL, ["low", "high"]] = [8.0, 9.0]
    bounds, start, end, problems = read_bounds_table(table, schema, START_T, END_T)
    cooling = [n for n in schema.profile_names if n.startswith("C")]
    assert all(bounds[c] == (0.1, 0.3) for c in cooling) and len(cooling) == schema.max_cycles + 1
    assert (start, end, problems) == (START_T, (8.0, 9.0), [])
    assert bounds["seed_loading"] == schema.bounds["seed_loading"]


def test_an_inverted_row_keeps_its_default_and_says_so():
    schema = Schema.default()
    table = bounds_table(schema, START_T, END_T)
    table.loc[table["variable"] == START, ["low", "high"]] = [80.0, 40.0]
    table.loc[table["variable"] == "seed_loading", ["low", "high"]] = [0.3, 0.1]
    bounds, start, _, problems = read_bounds_table(table, schema, START_T, END_T)
    assert start == START_T and "seed_loading" not in bounds
    assert len(problems) == 2 and all("low bound must not exceed" in p for p in problems)


def test_the_chart_plots_the_second_objective_or_batch_time_against_the_first():
    two = DesignResult(pd.DataFrame(), DesignSpec(), 1, False, 0.0)
    one = DesignResult(pd.DataFrame(), DesignSpec(objectives=(Objective("D50", "max"),)), 1, False, 0.0)
    assert two.chart_axes() == ("DoA", "D50") and one.chart_axes() == (BATCH_TIME, "D50")


def test_the_pareto_table_lists_predictions_and_domain_checks_present():
    points = pd.DataFrame(columns=["id", "profile_type", "T1", "D50_mean", "D50_std", BATCH_TIME, "in_domain"])
    assert DesignResult.table_columns(points) == ["id", "profile_type", "D50_mean", "D50_std", BATCH_TIME, "in_domain"]


def test_a_spread_sample_takes_evenly_spaced_points():
    points = pd.DataFrame({"id": list("abcdefghij")})
    assert spread_sample(points, 3)["id"].tolist() == ["a", "d", "g"]
    assert spread_sample(points, 30)["id"].tolist() == list("abcdefghij")


def test_alpha_grid_runs_from_zero_to_one():
    assert alpha_grid(0.25) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert alpha_grid(0.1)[3] == 0.3 and len(alpha_grid(0.05)) == 21


def test_changed_column_roles_enter_the_spec_and_unchanged_ones_do_not():
    header = ["C0 (mg/g)", "operator", "D50"]
    detected = [Schema.default().match(h) for h in header]
    assert spec_with_roles({}, header, detected) == {}
    spec = spec_with_roles({"max_cycles": 4}, header, [detected[0], "DoA", None])
    assert spec == {"max_cycles": 4, "columns": {"operator": "DoA", "D50": None}}


def augment_outcome() -> CQAAugment:
    sources = {
        "gaussian_copula": {
            "label": "Gaussian copula",
            "m": 50,
            "alpha": 0.25,
            "best": {"gain": 0.4, "gain_se": 0.1},
            "law": {"alpha_theory": 0.3},
        },
        "ctgan": {"label": "CTGAN", "m": 0, "alpha": 0.0, "skipped": "too few rows"},
    }
    return CQAAugment(
        "gaussian_copula", 50, 0.25, 0.3, 2.0, 1.6, 1.0, 0.8, 0.9, 0.7, {"gaussian_copula": 0.8}, {}, {}, {}, {},
        sources=sources,
    )  # fmt: skip


def test_the_sources_table_gives_each_sources_own_choice_and_evidence():
    table = augment_outcome().sources_table()
    assert table["source"].tolist() == ["Gaussian copula", "CTGAN"]
    assert table["own choice (m / α)"].tolist() == ["50 / 0.25", "too few rows"]
    assert table["best CV gain"].iloc[0] == 0.4 and table["α theory"].iloc[0] == 0.3
    assert math.isnan(table["quality score"].iloc[1])


def test_choosing_alpha_zero_returns_to_the_real_only_model():
    chosen = augment_outcome().chosen_instead("gaussian_copula", 100, 0.5, {"mse": 0.5, "mae": 0.6})
    assert (chosen.generator, chosen.m, chosen.alpha, chosen.test_mse_after) == ("gaussian_copula", 100, 0.5, 0.5)
    assert chosen.cv_mse_real_only == 2.0  # the study's evidence stays
    back = augment_outcome().chosen_instead("gaussian_copula", 100, 0.0, {"mse": 1.0, "mae": 0.9})
    assert back.generator is None and not back.augmented


def test_a_prediction_is_compared_with_what_was_measured():
    prediction = pd.DataFrame({"D50_mean": [40.0], "D50_std": [2.0], "DoA_mean": [20.0], "DoA_std": [1.0]})
    table = prediction_vs_measured(prediction, {"D50": 43.0, "DoA": 25.0}, ["D50", "DoA"])
    assert table["measured"].tolist() == [43.0, 25.0]
    assert within_two_sigma(table) == (1, 2)
    partly = prediction_vs_measured(prediction, {"D50": 41.0}, ["D50", "DoA"])
    assert math.isnan(partly["measured"].iloc[1]) and within_two_sigma(partly) == (1, 1)


def test_planned_runs_show_each_cqa_as_mean_and_sigma():
    runs = pd.DataFrame(
        {
            "id": ["P1"],
            "profile_type": ["1 cycle"],
            "D50_mean": [41.234],
            "D50_std": [1.26],
            "expected_improvement": [0.12345],
            "domain_score": [0.876],
        }
    )
    table = Plan(runs, pd.DataFrame(), PlanSpec(), [0.0, 0.0], 1.0).runs_table(["D50", "DoA"])
    assert table.columns.tolist() == ["id", "profile_type", "D50 ± σ", "expected HV improvement", "domain score"]
    assert table.iloc[0].tolist() == ["P1", "1 cycle", "41.2 ± 1.3", 0.123, 0.88]


@pytest.mark.parametrize("n", [1, 2])
def test_spread_sample_of_n_has_n_rows(n):
    assert len(spread_sample(pd.DataFrame({"id": range(7)}), n)) == n
