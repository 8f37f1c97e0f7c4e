"""AppTest of the Design page: run a small design, select through the chart's session key, export."""

import pytest

from core.doe import load_doe
from core.models.fitting import fit_cqa_models
from core.optimize import response_range
from core.optimize.response_range import BEYOND_MEASURED
from core.optimize.spec import DEFAULT_DOMAIN_LIMIT, SIMULATING_BUDGET
from core.workspace import Workspace
from tests.apptest import ROOT, app_on
from tests.conftest import noisy_crystallinity_project, small_data_heating_up_at_most, tiny_fit_heating_up_at_most


def run_small_design():
    at = app_on("pages/design.py")
    at.number_input(key="design_pop").set_value(12)
    at.number_input(key="design_gen").set_value(5)
    at.multiselect(key="design_types").set_value(["linear cooling", "2 cycles"])
    at.button(key="run_design").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_design_runs_and_shows_a_pareto_chart():
    at = run_small_design()
    result = at.session_state["design"]
    assert set(result.points["n_temperatures"]) == {2, 6}
    assert result.spec.pop_size == 12 and result.spec.n_gen == 5
    assert any("Click a point" in i.value for i in at.info)


def test_selection_key_drives_the_point_panel_and_basket_export():
    at = run_small_design()
    points = at.session_state["design"].points
    chosen = points[points["feasible"]]["id"].tolist()[:2]
    at.session_state["selected_point_ids"] = chosen
    at.run()
    assert not at.exception
    predictions = next(d.value for d in at.dataframe if "predicted" in d.value.columns)
    assert set(predictions["CQA"]) == {"D50", "DoA", "crystallinity"}
    at.button(key="add_to_basket").click()
    at.run()
    basket = at.session_state["basket"]
    assert basket["id"].tolist() == chosen
    downloads = {b.label: b for b in at.get("download_button")}
    assert set(downloads) >= {"Recipes (XLSX)", "Recipes (CSV)", "Recipes (JSON)"}


def test_risk_and_constraint_settings_reach_the_spec():
    at = app_on("pages/design.py")
    at.slider(key="design_risk").set_value(1.5)
    at.number_input(key="design_pop").set_value(8)
    at.number_input(key="design_gen").set_value(2)
    at.button(key="run_design").click()
    at.run()
    assert at.session_state["design"].spec.risk_kappa == 1.5


def test_profile_types_beyond_the_experiments_are_offered_but_not_selected():
    assert at_default_types(app_on("pages/design.py")) == [
        "linear cooling",
        "1 cycle",
        "2 cycles",
        "3 cycles",
        "4 cycles",
    ]
    at = app_on("pages/design.py", project=(small_data_heating_up_at_most(2), tiny_fit_heating_up_at_most(2)))
    assert at_default_types(at) == ["linear cooling", "1 cycle", "2 cycles"]
    assert "4 cycles" in at.multiselect(key="design_types").options
    assert any("Not selected by default: 3 cycles, 4 cycles" in c.value for c in at.caption)


def at_default_types(at) -> list[str]:
    assert not at.exception, at.exception
    return at.multiselect(key="design_types").value


def test_without_models_the_page_points_to_models():
    at = app_on("pages/design.py", with_models=False)
    assert any("Train the surrogate models first" in i.value for i in at.info)


def test_ground_truth_check_simulates_designs():
    at = run_small_design()
    at.number_input(key="truth_n").set_value(3)
    at.button(key="truth_run").click()
    at.run()
    assert not at.exception, at.exception
    check = at.session_state["ground_truth"]
    assert len(check) == 3
    assert check["D50_simulated"].notna().all() and (check["D50_simulated"] > 0).all()


def chart_specs(at) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_a_multi_point_selection_overlays_every_chosen_profile():
    at = run_small_design()
    points = at.session_state["design"].points
    chosen = points[points["feasible"]]["id"].tolist()[:3]
    at.session_state["selected_point_ids"] = chosen
    at.run()
    assert not at.exception, at.exception
    overlay = next(s for s in chart_specs(at) if s["layout"].get("legend", {}).get("title", {}).get("text") == "id")
    assert [t["name"] for t in overlay["data"]] == chosen
    assert at.selectbox(key="selected_recipe_id").options == chosen


def test_the_pareto_chart_lets_a_click_select_a_point():
    at = run_small_design()
    pareto = next(
        s for s in chart_specs(at) if s["layout"].get("legend", {}).get("title", {}).get("text") == "profile type"
    )
    # Streamlit turns click-selection off while the chart is in box or lasso mode.
    assert pareto["layout"]["dragmode"] not in ("select", "lasso")


def test_a_design_made_with_earlier_models_is_marked_stale_and_rerun_in_one_click():
    from dataclasses import replace

    at = run_small_design()
    assert not at.warning
    first = at.session_state["design"]
    at.session_state["fit"] = replace(at.session_state["fit"])  # e.g. retrained after a validation run
    at.run()
    assert any("made with earlier models" in w.value for w in at.warning)
    at.button(key="rerun_design").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["design"] is not first and at.session_state["design"].spec == first.spec
    assert not any("made with earlier models" in w.value for w in at.warning)


def test_models_trained_on_other_data_are_marked():
    from core.doe import load_doe
    from tests.conftest import doe_frame, small_data, to_csv_bytes

    at = app_on("pages/design.py")
    assert not any("trained on other data" in w.value for w in at.warning)
    at.session_state["doe"] = load_doe(to_csv_bytes(doe_frame(2)), filename="other.csv").data
    at.run()
    assert len(at.session_state["doe"]) != len(small_data())
    assert any("trained on other data" in w.value for w in at.warning)


def test_after_a_run_no_progress_bar_stays_and_a_reopened_design_claims_no_time():
    from dataclasses import replace

    at = run_small_design()
    assert not at.get("progress")
    assert any(" in " in c.value and " s" in c.value for c in at.caption if "Pareto points" in c.value)
    at.session_state["design"] = replace(at.session_state["design"], seconds=0.0)  # as a saved project reopens it
    at.run()
    caption = next(c.value for c in at.caption if "Pareto points" in c.value)
    assert "0.0 s" not in caption and caption.split(";")[0].endswith("generations")  # then the domain count


def test_domain_constraint_keeps_designs_within_its_limit_and_off_only_marks_them():
    at = run_small_design()  # the constraint is on by default, at the default limit
    result = at.session_state["design"]
    assert result.spec.domain == "strict" and result.spec.domain_limit == DEFAULT_DOMAIN_LIMIT
    assert {"domain_score", "in_domain"} <= set(result.points.columns)
    assert (result.points.loc[result.points["feasible"], "domain_score"] <= DEFAULT_DOMAIN_LIMIT).all()
    at.number_input(key="design_domain_limit").set_value(1.0)  # the domain's edge
    at.button(key="run_design").click()
    at.run()
    result = at.session_state["design"]
    assert result.spec.domain_limit == 1.0
    assert result.points.loc[result.points["feasible"], "in_domain"].all()
    table = next(d.value for d in at.dataframe if "domain_score" in d.value.columns)
    assert table["in_domain"].all()
    at.checkbox(key="design_domain").uncheck()
    at.button(key="run_design").click()
    at.run()
    assert not at.exception, at.exception
    result = at.session_state["design"]
    assert result.spec.domain == "off"
    chart = at.get("plotly_chart")[0].proto.spec
    assert "in_domain" in result.points.columns and '"symbol"' in chart
    outside = int((~result.points.loc[result.points["feasible"], "in_domain"]).sum())
    caption = next(c.value for c in at.caption if "Pareto points" in c.value)
    assert outside > 0 and f"{outside} of them beyond the applicability domain" in caption


def test_designs_are_seeded_as_the_experiments_by_default_and_free_when_unchecked():
    at = run_small_design()
    band = at.session_state["design"].spec.seeding
    assert band is not None and band.low <= 0 <= band.high
    assert band.peak_high is not None  # data-driven models: the heat-ups are capped as the experiments' are
    assert any(str(band) in c.value for c in at.caption)
    assert not any(c.value.startswith("Heat-ups are free") for c in at.caption)
    at.checkbox(key="design_seeding").uncheck()
    at.button(key="run_design").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["design"].spec.seeding is None


def test_an_objective_whose_model_does_not_beat_the_mean_is_flagged():
    data, fit = noisy_crystallinity_project()
    caution = fit.metrics["crystallinity"].mean_caution("crystallinity", fit.settings.folds)
    at = app_on("pages/design.py", project=(data, fit))
    assert caution not in [w.value for w in at.warning]  # D50 and DoA, the default objectives, beat their means
    at.multiselect(key="design_objectives").set_value(["D50:max", "crystallinity:max"])
    at.run()
    assert caution in [w.value for w in at.warning]


def test_a_grey_box_model_gets_the_smaller_search_budget_and_says_why():
    data = load_doe(ROOT / "sample_data" / "doe.csv").data
    fit = fit_cqa_models(data, ["D50", "DoA"], families=("lab",), n_members=3, n_jobs=1)
    at = app_on("pages/design.py", project=(data, fit))
    assert at.number_input(key="design_pop_simulating").value == SIMULATING_BUDGET[0]
    assert at.number_input(key="design_gen_simulating").value == SIMULATING_BUDGET[1]
    assert any("simulates every design it predicts" in c.value for c in at.caption)
    assert any(c.value.startswith("Heat-ups are free") for c in at.caption)
    assert not any("heat-ups peak" in c.value for c in at.caption)


@pytest.mark.parametrize("margin", [response_range.MARGIN, -0.5])  # -0.5: every prediction off the range's middle
def test_designs_predicted_beyond_anything_measured_are_flagged_in_the_table_and_a_warning(monkeypatch, margin):
    monkeypatch.setattr(response_range, "MARGIN", margin)
    at = run_small_design()
    result = at.session_state["design"]
    table = next(d.value for d in at.dataframe if BEYOND_MEASURED in d.value.columns)
    measured = Workspace(at.session_state).data.cqas
    feasible = result.points[result.points["feasible"]]
    ranges = response_range.measured_ranges(measured)
    assert table[BEYOND_MEASURED].tolist() == response_range.beyond_measured(table, ranges).tolist()
    note = response_range.summary(feasible, ranges)
    assert [w.value for w in at.warning if "beyond anything measured" in w.value] == ([note] if note else [])
    assert note is not None or margin >= 0
    flagged = feasible[feasible[BEYOND_MEASURED] != ""]["id"].tolist()[:1]
    if flagged:  # the chosen design's own panel says so too
        at.session_state["selected_point_ids"] = flagged
        at.run()
        assert any(w.value.startswith("Predicted beyond anything measured") for w in at.warning)
