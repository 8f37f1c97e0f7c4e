"""`python -m core augment`: augment.json schema, predict using the run afterwards, plain errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.augment.study import NO_GAIN
from core.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
FIELDS = {
    "generator",
    "m",
    "alpha",
    "alpha_theory",
    "cv_mse_real_only",
    "cv_mse_augmented",
    "test_mse_before",
    "test_mse_after",
    "test_mae_before",
    "test_mae_after",
    "quality_scores",
    "curves",
    "rule",
    "gain_se",
    "sources",
}
QUICK = [
    "--generators",
    "gaussian_copula",
    "--m",
    "5",
    "10",
    "--alphas",
    "0.5",
    "1",
    "--no-tune",
    "--seed",
    "1",
    "--folds",
    "3",
    "--repeats",
    "1",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("augment") / "run"
    files = ["fit", str(SAMPLE / "doe.csv"), "--holdout", str(SAMPLE / "holdout.csv"), "--out", str(out)]
    code = main([*files, "--cqa", "D50", "--families", "svr", "--members", "4", "--n-jobs", "1"])
    assert code == 0
    return out


def test_augment_writes_the_documented_schema_and_predict_still_works(run_dir, capsys):
    assert main(["augment", str(run_dir), "--cqa", "D50", *QUICK, "--selection", "one_se"]) == 0
    entry = json.loads((run_dir / "augment.json").read_text())["D50"]
    spec = json.loads((run_dir / "augment_settings.json").read_text())
    assert set(entry) - {"generator_params", "tuning", "seconds"} == FIELDS
    assert spec["settings"]["selection"] == "one_se" and spec["settings"]["repeats"] == 1
    assert entry["rule"]["name"] == "one_se" and entry["rule"]["folds"] == 3
    assert (entry["generator"] is None) == (entry["rule"]["verdict"] == NO_GAIN)
    assert set(entry["sources"]) == {"gaussian_copula"} and entry["gain_se"] > 0
    assert set(entry["sources"]["gaussian_copula"]["spread"]) == {"5", "10"}
    assert spec["settings"]["m_values"] == [5, 10] and spec["settings"]["alphas"] == [0.0, 0.5, 1.0]
    assert set(entry["curves"]) == {"gaussian_copula"}
    assert {m: [p[0] for p in pts] for m, pts in entry["curves"]["gaussian_copula"].items()} == {
        "5": [0.0, 0.5, 1.0],
        "10": [0.0, 0.5, 1.0],
    }
    assert set(entry["quality_scores"]) == {"gaussian_copula"}
    assert (run_dir / "synthetic_D50.csv").exists() == (entry["generator"] is not None)
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(SAMPLE / "holdout.csv"), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 4 and {"mean", "std"} <= set(records[0]["D50"])


def test_bad_requests_get_plain_messages(run_dir, tmp_path, capsys):
    assert main(["augment", str(run_dir), "--cqa", "DoA", *QUICK]) == 2
    assert "no model was fitted for DoA" in capsys.readouterr().err
    assert main(["augment", str(tmp_path / "nothing"), *QUICK]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["augment", str(run_dir), "--generators", "gaussian_copula", "--alphas", "1.5", "--no-tune"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
