"""`python -m core fit` and `python -m core predict` on a small DoE file."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from test_models_data import METRICS_JSON_FIELDS, make_doe_frame

from core.cli import main

# SVR alone keeps even the exhaustive paper grid small (20 configurations).
QUICK = ["--families", "svr", "--members", "4", "--n-jobs", "1"]


@pytest.fixture(scope="module")
def doe_csv(tmp_path_factory) -> tuple[str, pd.DataFrame]:
    frame = make_doe_frame()
    path = tmp_path_factory.mktemp("cli") / "doe.csv"
    frame.to_csv(path, index=False)
    return str(path), frame


@pytest.fixture(scope="module")
def run_dir(doe_csv, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["fit", doe_csv[0], "--out", str(out), *QUICK]) == 0
    return str(out)


def test_fit_writes_metrics_in_the_documented_schema(doe_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["fit", doe_csv[0], "--out", str(out), "--search", "exhaustive", "--uq", "bootstrap", *QUICK])
    assert code == 0
    captured = capsys.readouterr()
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"D50", "DoA", "crystallinity"}
    for m in metrics.values():
        assert set(m) >= METRICS_JSON_FIELDS
        assert set(m["models"]) == {"svr"}
        assert m["best_model"] in m["models"]
        assert m["uq"] == "bootstrap"
    # A progress line per family and CQA on stderr, a summary table on stdout.
    assert captured.err.count("Support vector regression CV MSE") == 3
    assert "crystallinity" in captured.out and "run written to" in captured.out
    gain = metrics["D50"]["test_mse"] / metrics["D50"]["test_mse_mean"] - 1.0
    assert f"{gain:+.0%}" in captured.out.splitlines()[1] and "vs mean" in captured.out
    settings = json.loads((out / "settings.json").read_text())
    assert settings["settings"]["search"] == "exhaustive" and settings["settings"]["random_state"] == 0


def test_predict_prints_mean_and_std_for_every_row(run_dir, doe_csv, capsys):
    path, frame = doe_csv
    assert main(["predict", run_dir, path]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    parts = ("mean", "std", "std_of_mean", "noise_std")
    cqas = ("D50", "DoA", "crystallinity")
    assert list(table.columns) == ["row", *(f"{c}_{p}" for c in cqas for p in parts), "domain_score", "in_domain"]
    assert len(table) == len(frame)
    assert (table["D50_std"] > 0).all()
    for c in cqas:  # a new run's std in its parts where the model separates them (a GP), else the whole
        std, of_mean, noise = (table[f"{c}_{p}"].to_numpy() for p in parts[1:])
        known = np.isfinite(noise)
        assert known.all() or not known.any()
        np.testing.assert_allclose(std[known] ** 2, of_mean[known] ** 2 + noise[known] ** 2)
        np.testing.assert_array_equal(of_mean[~known], std[~known])
    assert table["in_domain"].all()  # the training runs themselves
    assert main(["predict", run_dir, path, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == len(frame)
    assert records[0]["row"] == table["row"][0]
    assert records[0]["D50"]["mean"] == pytest.approx(table["D50_mean"][0])


def test_predict_json_rows_carry_the_domain_score(run_dir, doe_csv, tmp_path, capsys):
    frame = doe_csv[1]
    far = frame.head(3).copy()
    far.loc[far.index[2], "initial_concentration"] = 10 * frame["initial_concentration"].max()
    far_path = tmp_path / "far.csv"
    far.to_csv(far_path, index=False)
    assert main(["predict", run_dir, str(far_path), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    for r in records:
        assert set(r) == {"row", "D50", "DoA", "crystallinity", "domain_score", "in_domain"}
        assert set(r["D50"]) == {"mean", "std", "std_of_mean", "noise_std"} and isinstance(r["in_domain"], bool)
        assert r["domain_score"] >= 0
    assert [r["in_domain"] for r in records] == [True, True, False]
    assert records[2]["domain_score"] > 1 > records[0]["domain_score"]


def test_predict_needs_every_input(run_dir, doe_csv, tmp_path, capsys):
    path = tmp_path / "partial.csv"
    doe_csv[1].drop(columns=["seed_loading"]).to_csv(path, index=False)
    assert main(["predict", run_dir, str(path)]) == 1
    assert "seed_loading" in capsys.readouterr().err


def test_unusable_inputs_exit_with_a_message(doe_csv, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("colour,size\nred,3\n")
    assert main(["fit", str(bad), "--out", str(tmp_path / "x"), *QUICK]) == 1
    assert "cannot be used" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "nothing"), doe_csv[0]]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert main(["fit", doe_csv[0], "--out", str(tmp_path / "y"), "--model", "D50", *QUICK]) == 2
    assert "--model takes CQA=FAMILY" in capsys.readouterr().err
    assert main(["fit", doe_csv[0], "--out", str(tmp_path / "z"), "--model", "D50=rf", *QUICK]) == 2
    assert "'rf' was chosen for D50 but was not fitted" in capsys.readouterr().err


def test_fit_scores_the_average_of_families_unless_told_not_to(doe_csv, tmp_path):
    two = ["--families", "svr,gp", "--cqa", "D50", "--members", "3", "--n-jobs", "1"]
    for flag, expected in (([], {"svr", "gp", "average"}), (["--no-average"], {"svr", "gp"})):
        out = tmp_path / f"run{len(flag)}"
        assert main(["fit", doe_csv[0], "--out", str(out), *two, *flag]) == 0
        assert set(json.loads((out / "metrics.json").read_text())["D50"]["models"]) == expected
        assert json.loads((out / "settings.json").read_text())["settings"]["average"] is not bool(flag)
