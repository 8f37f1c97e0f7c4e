"""`python -m core optimize` and `export` on a saved model run."""

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.doe import Schema, load_doe
from core.export import read_recipes
from core.models.fitting import fit_cqa_models
from core.models.persistence import load_run, save_run
from core.optimize import response_range
from core.profiles import ThermocycleProfile
from core.seeding import seeding_band
from tests.conftest import (
    TINY_RF,
    doe_frame,
    noisy_crystallinity_project,
    tiny_fit,
    tiny_fit_heating_up_at_most,
    to_csv_bytes,
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return save_run(tiny_fit(), tmp_path_factory.mktemp("run") / "run")


def test_optimize_writes_the_documented_columns(run_dir, tmp_path):
    out = tmp_path / "pareto.csv"
    code = main(
        [
            "optimize",
            str(run_dir),
            "--cycles",
            "0",
            "2",
            "--pop",
            "8",
            "--gen",
            "3",
            "--seed",
            "1",
            "--constraint",
            "crystallinity>=0",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    points = pd.read_csv(out)
    assert {"id", "n_cycles", "batch_time_min", "initial_concentration", "T1", "H4"} <= set(points.columns)
    assert {f"{c}_{s}" for c in ("D50", "DoA", "crystallinity") for s in ("mean", "std")} <= set(points.columns)
    assert set(points["n_cycles"]) == {0, 2}
    assert points["id"].is_unique


def test_export_round_trips_chosen_points(run_dir, tmp_path):
    pareto = tmp_path / "pareto.csv"
    assert main(["optimize", str(run_dir), "--cycles", "1", "--pop", "8", "--gen", "2", "--out", str(pareto)]) == 0
    points = pd.read_csv(pareto, float_precision="round_trip")
    ids = points["id"].tolist()[:2]
    for suffix in ("xlsx", "csv", "json"):
        out = tmp_path / f"recipe.{suffix}"
        assert main(["export", str(run_dir), "--pareto", str(pareto), "--ids", *ids, "--out", str(out)]) == 0
        recipes = read_recipes(out.read_bytes(), out.name)
        assert [r.id for r in recipes] == ids
        chosen = points.set_index("id").loc[ids].to_dict("records")
        # Written at 0.01 °C and 0.001 °C/min, and read back exactly as written in every format.
        expected = [ThermocycleProfile.from_features(r) for r in chosen]
        for recipe, profile in zip(recipes, expected, strict=True):
            assert _numbers(recipe.profile) == [round(v, 2) for v in profile.temperatures] + [
                round(v, 3) for v in (*profile.cooling_rates, *profile.heating_rates)
            ]


def _numbers(profile: ThermocycleProfile) -> list[float]:
    return [*profile.temperatures, *profile.cooling_rates, *profile.heating_rates]


def test_bad_requests_exit_2_with_a_message(run_dir, tmp_path, capsys):
    pareto = tmp_path / "p.csv"
    assert main(["optimize", str(run_dir), "--objectives", "D50:up", "--out", str(pareto)]) == 2
    assert "objective" in capsys.readouterr().err
    assert main(["optimize", str(run_dir), "--cycles", "7", "--out", str(pareto)]) == 2
    assert "a 7-cycle profile does not fit the schema, which has columns for up to 4" in capsys.readouterr().err
    assert main(["optimize", str(tmp_path / "nope"), "--out", str(pareto)]) == 2
    pd.DataFrame({"id": ["a"]}).to_csv(pareto, index=False)
    assert (
        main(["export", str(run_dir), "--pareto", str(pareto), "--ids", "zzz", "--out", str(tmp_path / "r.json")]) == 2
    )
    assert main(["export", str(run_dir), "--pareto", str(pareto), "--ids", "a", "--out", str(tmp_path / "r.pdf")]) == 2


@pytest.mark.parametrize("domain", ["strict", "off"])
def test_pareto_points_carry_the_domain_and_strict_keeps_designs_in_it(run_dir, tmp_path, domain):
    out = tmp_path / "pareto.csv"
    args = ["optimize", str(run_dir), "--cycles", "0", "1", "--pop", "12", "--gen", "6", "--domain", domain]
    args += ["--domain-limit", "1"]  # the domain's edge
    assert main([*args, "--out", str(out)]) == 0
    points = pd.read_csv(out)
    assert {"domain_score", "in_domain"} <= set(points.columns)
    assert (points["in_domain"] == (points["domain_score"] <= 1.0)).all()
    if domain == "strict":  # out-of-domain designs violate a constraint, so no feasible one is outside
        assert points.loc[points["feasible"], "in_domain"].all()


def test_a_domain_limit_lets_designs_reach_further_and_no_further(run_dir, tmp_path):
    scores = {}
    for limit in ("1", "4"):
        out = tmp_path / f"{limit}.csv"
        args = ["optimize", str(run_dir), "--cycles", "1", "2", "--pop", "16", "--gen", "8", "--domain-limit", limit]
        assert main([*args, "--out", str(out)]) == 0
        points = pd.read_csv(out)
        scores[limit] = points.loc[points["feasible"], "domain_score"]
        assert (points["in_domain"] == (points["domain_score"] <= 1.0)).all()  # the flag keeps the domain's edge
    assert scores["1"].max() <= 1.0 and scores["4"].max() <= 4.0
    assert scores["4"].max() > 1.0  # further out than the edge: the limit, not the domain, held them


def test_designs_are_seeded_as_the_experiments_unless_seeding_is_off(run_dir, tmp_path):
    band = seeding_band(tiny_fit().data.inputs)
    designs = {}
    for seeding in ("data", "off"):
        out = tmp_path / f"{seeding}.csv"
        args = ["optimize", str(run_dir), "--cycles", "1", "--pop", "16", "--gen", "8", "--seeding", seeding]
        assert main([*args, "--out", str(out)]) == 0
        points = pd.read_csv(out)
        designs[seeding] = points[points["feasible"]]
    seeded = designs["data"]
    c0 = seeded["initial_concentration"].to_numpy()
    assert (band.violation(c0, seeded["T1"].to_numpy()) <= 1e-6).all()
    assert (band.peak_violation(c0, seeded[["T3"]].to_numpy()) <= 1e-6).all()
    columns = ["initial_concentration", "T1", "T3"]
    assert not designs["off"][columns].reset_index(drop=True).equals(seeded[columns].reset_index(drop=True))


def test_progress_in_a_log_is_a_line_per_tenth_of_the_generations(run_dir, tmp_path, capsys):
    out = tmp_path / "pareto.csv"
    assert main(["optimize", str(run_dir), "--cycles", "1", "--pop", "8", "--gen", "20", "--out", str(out)]) == 0
    progress = [line for line in capsys.readouterr().err.splitlines() if "generation" in line]
    assert progress[0].endswith("generation 1 of 20") and progress[-1].endswith("generation 20 of 20")
    assert len(progress) == 11


@pytest.mark.parametrize(
    ("times", "said"),
    [
        (2, "designing 0 to 2 cycles: no experiment heats up more than 2 times"),
        (1, "designing 0 to 1 cycles: no experiment heats up more than once"),
    ],
)
def test_by_default_designs_heat_up_no_more_often_than_the_experiments(times, said, tmp_path, capsys):
    run = save_run(tiny_fit_heating_up_at_most(times), tmp_path / "run")
    out = tmp_path / "pareto.csv"
    assert main(["optimize", str(run), "--pop", "8", "--gen", "2", "--out", str(out)]) == 0
    assert set(pd.read_csv(out)["n_cycles"]) == set(range(times + 1))
    assert said in capsys.readouterr().err
    assert main(["optimize", str(run), "--cycles", "4", "--pop", "8", "--gen", "2", "--out", str(out)]) == 0
    assert set(pd.read_csv(out)["n_cycles"]) == {4}
    assert "designing" not in capsys.readouterr().err


def test_a_run_keeps_its_schema_so_optimize_designs_its_extra_inputs(tmp_path):
    frame = doe_frame(4).assign(**{"stirrer_speed (rpm)": lambda f: np.linspace(250.0, 550.0, len(f))})
    schema = Schema.from_json({"inputs": [{"name": "stirrer_speed", "unit": "rpm", "bounds": [200, 600]}]})
    data = load_doe(to_csv_bytes(frame), filename="doe.csv", schema=schema).data
    run = save_run(fit_cqa_models(data, families=("rf",), grids={"rf": TINY_RF}, n_members=3), tmp_path / "run")
    assert load_run(run).schema.bounds["stirrer_speed"] == (200.0, 600.0)
    out = tmp_path / "pareto.csv"
    assert main(["optimize", str(run), "--cycles", "1", "--pop", "8", "--gen", "2", "--out", str(out)]) == 0
    assert pd.read_csv(out)["stirrer_speed"].between(200.0, 600.0).all()


def test_a_constraint_on_a_cqa_no_model_predicts_better_than_its_mean_is_cautioned(tmp_path, capsys):
    fit = noisy_crystallinity_project()[1]
    run, out = save_run(fit, tmp_path / "run"), tmp_path / "pareto.csv"
    caution = fit.metrics["crystallinity"].mean_caution("crystallinity", fit.settings.folds)
    assert main(["optimize", str(run), "--cycles", "0", "--pop", "8", "--gen", "2", "--out", str(out)]) == 0
    assert "caution:" not in capsys.readouterr().err
    argv = ["optimize", str(run), "--cycles", "0", "--pop", "8", "--gen", "2", "--constraint", "crystallinity>=80"]
    assert main([*argv, "--out", str(out)]) == 0
    assert f"caution: {caution}" in capsys.readouterr().err


@pytest.mark.parametrize("margin", [response_range.MARGIN, -0.5])  # -0.5: every prediction off the range's middle
def test_pareto_points_say_which_cqas_they_are_predicted_beyond_the_measured_range_of(
    run_dir, tmp_path, capsys, monkeypatch, margin
):
    monkeypatch.setattr(response_range, "MARGIN", margin)
    out = tmp_path / "pareto.csv"
    args = ["optimize", str(run_dir), "--cycles", "0", "2", "--pop", "8", "--gen", "3", "--domain", "off"]
    assert main([*args, "--out", str(out)]) == 0
    points = pd.read_csv(out, float_precision="round_trip", keep_default_na=False)
    ranges = response_range.measured_ranges(load_run(run_dir).data.cqas)
    assert points[response_range.BEYOND_MEASURED].tolist() == response_range.beyond_measured(points, ranges).tolist()
    note = response_range.summary(points[points["feasible"].astype(str) == "True"], ranges)
    err = capsys.readouterr().err
    if margin < 0:
        assert (points[response_range.BEYOND_MEASURED] != "").any() and f"caution: {note}" in err
    else:  # the tiny models predict within what their runs measured
        assert (points[response_range.BEYOND_MEASURED] == "").all() and note is None
        assert "beyond anything measured" not in err
