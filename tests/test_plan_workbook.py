"""The plan workbook round-trips through validate and simulate; filled in, it grows the data and moves the models."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core.cli import main
from core.doe import load_doe
from core.models.datasets import ModelData
from core.plan.cli import load_data
from core.plan.gp import PlanningModels
from core.plan.loop import append_filled_workbook, history_frame, summarise_round
from core.plan.propose import PlanSpec, plan_experiments
from core.plan.workbook import DOE_SHEET, PLAN_SHEET, plan_workbook
from core.virtual_lab.simulator import simulate_rows

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "doe.csv"
CHEAP = {"front_pop": 12, "front_gen": 4}


@pytest.fixture(scope="module")
def planned():
    data = load_doe(SAMPLE).data
    md = ModelData.from_doe(data)
    spec = PlanSpec(batch_size=3, strategy="random", n_temperatures=(2, 6), random_state=2, **CHEAP)
    plan = plan_experiments(md.inputs, md.cqas, data.schema, spec)
    return data, plan


def test_cli_writes_a_workbook_that_validates_with_blank_cqas_and_simulates(tmp_path, capsys):
    out = tmp_path / "next.xlsx"
    args = ["plan", str(SAMPLE), "--batch", "3", "--cycles", "0", "2", "--strategy", "random", "--seed", "5"]
    assert main([*args, "--prior", "none", "--constraint", "crystallinity>=80", "--out", str(out)]) == 0
    assert "N3-" in capsys.readouterr().out  # the proposed runs are listed
    assert main(["validate", str(out), "--json"]) == 1  # as a DoE: nothing measured, nothing to learn
    capsys.readouterr()
    assert main(["validate", str(out), "--planned", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == []
    loaded = load_doe(out, planned=True)
    assert len(loaded.data) == 3 and not loaded.report.errors
    assert loaded.data.frame[loaded.data.schema.cqa_names].isna().all().all()
    assert set(loaded.data.profile_types()) <= {"linear cooling", "2 cycles"}
    assert main(["simulate", str(out), "--noise", "--json"]) == 0
    assert '"D50"' in capsys.readouterr().out


def test_cli_plans_with_the_virtual_lab_as_prior_by_default(tmp_path, capsys, cheap_lab_prior):
    out = tmp_path / "next.xlsx"
    args = ["plan", str(SAMPLE), "--batch", "2", "--cycles", "0", "2", "--strategy", "random"]
    assert main([*args, "--out", str(out)]) == 0
    assert "D50: with 47 simulated runs as a second task" in capsys.readouterr().err  # 31 runs, 2 types x (4 + 4)
    assert len(load_doe(out, planned=True).data) == 2


def test_cli_bad_input_gives_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["plan", str(SAMPLE), "--out", str(tmp_path / "next.csv")]) == 2
    assert ".xlsx" in capsys.readouterr().err
    assert main(["plan", str(tmp_path), "--out", str(tmp_path / "n.xlsx")]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["plan", str(SAMPLE), "--objectives", "D50:max", "--out", str(tmp_path / "n.xlsx")]) == 2
    assert "two objectives" in capsys.readouterr().err
    assert main(["plan", str(SAMPLE), "--simulator-runs", "-1", "--out", str(tmp_path / "n.xlsx")]) == 2
    assert "cannot be negative" in capsys.readouterr().err


def test_workbook_sheets_hold_the_runs_plan_and_recipes(planned):
    data, plan = planned
    content = plan_workbook(plan.runs, data.schema)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames[:2] == [DOE_SHEET, PLAN_SHEET] and len(wb.sheetnames) == 2 + len(plan.runs)
    header = [c.value for c in wb[PLAN_SHEET][1]]
    names = {str(h).split(" (")[0] for h in header}  # headers carry their units
    assert {"D50_mean", "D50_std", "expected_improvement", "domain_score", "T1_above_seeding_line_K"} <= names
    recipe_ids = [wb[name]["B1"].value for name in wb.sheetnames[2:]]
    assert [wb[name]["A1"].value for name in wb.sheetnames[2:]] == ["recipe"] * len(plan.runs)
    assert recipe_ids == list(plan.runs["id"])


def test_appending_the_filled_workbook_changes_the_models(planned):
    data, plan = planned
    content = plan_workbook(plan.runs, data.schema)
    frame = pd.read_excel(io.BytesIO(content), sheet_name=DOE_SHEET)
    rows = load_doe(content, filename="next.xlsx", planned=True).data
    truth = simulate_rows(rows.inputs, noise=True, random_state=1)
    for cqa in data.schema.cqa_names:
        column = next(c for c in frame.columns if c.startswith(cqa + " "))
        frame[column] = truth[cqa].to_numpy()
    buffer = io.BytesIO()
    frame.to_excel(buffer, sheet_name=DOE_SHEET, index=False)
    grown = append_filled_workbook(data, buffer.getvalue(), "filled.xlsx")
    assert grown.data is not None and len(grown.data) == len(data) + len(plan.runs)
    again = append_filled_workbook(grown.data, buffer.getvalue(), "filled.xlsx")
    assert again.data is None and "appended before" in again.report.errors[0].message

    before, after = (
        PlanningModels(data.schema, ["D50", "DoA"]).fit(md.inputs, md.cqas)
        for md in (ModelData.from_doe(data), ModelData.from_doe(grown.data))
    )
    new = rows.inputs
    (m0, s0), (m1, s1) = before.predict(new)["D50"], after.predict(new)["D50"]
    assert not np.allclose(m0, m1)
    assert (s1 < s0).all()  # measured there now: the models are surer


def test_an_unfilled_workbook_is_refused_and_the_data_kept(planned):
    data, plan = planned
    result = append_filled_workbook(data, plan_workbook(plan.runs, data.schema), "next.xlsx")
    assert result.data is None
    assert any("no CQA value is measured" in p.message for p in result.report.errors)
    assert len(data) == 31


def test_round_summary_counts_runs_per_type(planned):
    data, plan = planned
    summary = summarise_round(0, plan, data, np.array(plan.reference_point))
    assert summary.n_runs == 31 and sum(summary.runs_per_type.values()) == 31
    assert summary.runs_per_type["linear cooling"] == 18
    assert summary.hypervolume > 0 and summary.mean_sigma > 0
    table = history_frame([summary, summary])
    assert list(table["round"]) == [0, 0] and "2 cycles" in table


def test_a_fit_run_directory_gives_the_rows_it_was_fitted_on(tmp_path):
    data = load_doe(SAMPLE).data
    md = ModelData.from_doe(data)
    (tmp_path / "data.csv").write_text(md.to_frame().to_csv(index=False))
    (tmp_path / "settings.json").write_text(json.dumps({"input_names": md.input_names}))
    rows, schema = load_data(str(tmp_path))
    assert rows.inputs.shape == (31, len(schema.input_names))
    assert rows.cqas.count().to_dict() == {"D50": 31, "DoA": 21, "crystallinity": 15}
