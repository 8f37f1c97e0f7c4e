"""`python -m core.reactors`: simulate -> train -> models -> compare, and plain errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.reactors.cli import add_commands, main, planner_settings, register
from core.reactors.planning import PlannerSettings

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent
METRICS = {"throughput_kg_h", "utilization_pct", "stability_sd", "violations", "decision_time_ms"}


def test_simulate_train_compare_pipeline(tmp_path, capsys):
    data = tmp_path / "ops.csv"
    assert main(["simulate", "--hours", "2", "--out", str(data), "--quiet"]) == 0
    assert "wrote 120 samples" in capsys.readouterr().out
    assert data.exists() and (tmp_path / "ops.meta.json").exists()

    models = tmp_path / "models"
    args = ["train", str(data), "--model", "node", "--out", str(models), "--max-steps", "20", "--rollout-steps", "2"]
    assert main([*args, "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "node" in table and "persistence" in table
    assert {p.name for p in models.iterdir()} == {"node.json", "node.npz", "node_report.json", "plant.json"}

    assert main(["models", str(models), "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert set(reports) == {"node"} and "one_step" in reports["node"]["model"]

    assert main(["compare", str(models), "--json", "--hours", "0.2", "--replan", "6"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "node"
    assert result["caveats"] == []  # the 2 h record's test split is too short to judge the model by
    assert result["optimum_kg_h"] > 0
    for controller in ("pid", "learned", "oracle"):
        assert set(result[controller]) >= METRICS | {"optimum_kg_h", "share_of_optimum"}
        assert isinstance(result[controller]["violations"], int)
        assert 0 < result[controller]["throughput_kg_h"] <= result["optimum_kg_h"]
        share = result[controller]["throughput_kg_h"] / result["optimum_kg_h"]
        assert result[controller]["share_of_optimum"] == pytest.approx(share)

    assert result["oracle"]["selection_time_s"] > 0  # the oracle tried its policies on every whole scenario
    assert isinstance(result["learned"]["held_decisions"], int) and "held_decisions" not in result["pid"]

    report_path = models / "node_report.json"  # as if a longer record had shown the model no better than holding
    report = json.loads(report_path.read_text())
    errors = {"temperature_K": 1.0, "concentration_mol_L": 0.01, "coolant_K": 7.0, "scaled": 0.5}
    held = {"temperature_K": 3.0, "concentration_mol_L": 0.03, "coolant_K": 6.0, "scaled": 0.8}
    report["model"]["rollout_1h"], report["persistence"]["rollout_1h"] = errors, held
    report_path.write_text(json.dumps(report))
    args = ["compare", str(models), "--hours", "0.2", "--replan", "12", "--cem-oracle", "--free-setpoints", "--quiet"]
    assert main([*args, "--offset-correction", "3"]) == 0
    printed = capsys.readouterr()
    text = printed.out
    assert "steady-state optimum" in text and "oracle_cem" in text and "% of optimum" in text
    assert "learned_shooting" in text
    (caution,) = printed.err.splitlines()
    assert caution.startswith("caution: The node model predicts the coolant commands 1 h ahead")


def test_compare_options_change_only_the_planner_settings_they_name():
    parser = argparse.ArgumentParser()
    add_commands(parser)

    def settings(*options: str) -> PlannerSettings:
        return planner_settings(parser.parse_args(["compare", "DIR", *options]))

    default = PlannerSettings()
    assert settings() == default  # setpoints held, offset correction on, the default coolant reserve
    assert default.max_setpoint_move_K == 0.0 and default.offset_window_min > 0
    assert settings("--coolant-headroom", "2") == PlannerSettings(coolant_headroom_K=2.0)
    assert settings("--offset-correction", "0") == PlannerSettings(offset_window_min=0)
    assert settings("--trust-limit", "20") == PlannerSettings(trust_limit_K=20.0)
    assert settings("--trust-limit", "0") == PlannerSettings(trust_limit_K=None)
    assert settings("--free-setpoints").max_setpoint_move_K is None
    assert settings("--setpoint-move", "1.5", "--seed", "3") == PlannerSettings(max_setpoint_move_K=1.5, random_state=3)


def test_bad_input_gives_a_plain_message_and_exit_code(tmp_path, capsys):
    assert main(["train", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m")]) == 2
    assert "No data file" in capsys.readouterr().err
    assert main(["compare", str(tmp_path)]) == 2
    assert "No trained models" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--hours", "-3", "--out", str(tmp_path / "x.csv")])
    assert "must be positive" in capsys.readouterr().err
    for window in ("-1", "2.5"):
        with pytest.raises(SystemExit):
            main(["compare", str(tmp_path), "--offset-correction", window])
        assert "--offset-correction" in capsys.readouterr().err
    assert main(["compare", str(tmp_path), "--free-setpoints", "--setpoint-move", "2"]) == 2
    assert "either --free-setpoints or --setpoint-move" in capsys.readouterr().err


def test_module_entry_point_prints_help():
    result = subprocess.run(
        [sys.executable, "-m", "core.reactors", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert all(command in result.stdout for command in ("simulate", "train", "models", "compare"))


def test_register_adds_the_commands_under_python_m_core(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="python -m core")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["reactors", "compare", str(tmp_path)])
    assert args.func(args) == 2
    assert "No trained models" in capsys.readouterr().err


def test_train_stops_at_its_wall_clock_budget_and_reports_time_left(tmp_path, capsys):
    from core.reactors.cli import DEFAULT_TRAIN_SECONDS

    data = tmp_path / "ops.csv"
    assert main(["simulate", "--hours", "2", "--out", str(data), "--quiet"]) == 0
    models = tmp_path / "models"
    args = ["train", str(data), "--model", "node", "--out", str(models), "--rollout-steps", "2"]
    assert main([*args, "--max-steps", "1000000", "--max-time", "0.2"]) == 0
    meta = json.loads((models / "node.json").read_text())
    assert meta["params"]["max_time_s"] == 0.2
    last = meta["history"][-1]
    assert last["step"] < 1_000_000 and last["time_s"] > 0.2  # the budget, not the step limit, ended training
    assert "s left of 0.2 s" in capsys.readouterr().err
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    defaults = parser.parse_args(["reactors", "train", str(data), "--out", str(models)])
    assert defaults.max_time == DEFAULT_TRAIN_SECONDS == 120.0


def test_a_budget_stop_while_still_improving_is_named():
    from types import SimpleNamespace

    from core.reactors.cli import _stopped_while_improving
    from core.reactors.learning import TrainingPoint

    def learner(losses, seconds):
        points = [TrainingPoint(100 * (k + 1), 1.0 * k, v, v, 1e-3, 0.9) for k, v in enumerate(losses)]
        return SimpleNamespace(history_=points, max_time_s=120.0, train_time_s_=seconds)

    assert _stopped_while_improving(learner([3.0, 2.0, 1.5], 121.0))
    assert not _stopped_while_improving(learner([3.0, 1.0, 1.5], 121.0))  # had passed its best
    assert not _stopped_while_improving(learner([3.0, 2.0, 1.5], 60.0))  # stopped on its own
