"""The recommendation weighs the predicted front against the runs already measured, by a cautious bound."""

from __future__ import annotations

import pandas as pd
import pytest

from core.optimize.spec import Constraint
from core.plan.propose import Plan, PlanSpec
from core.plan.recommend import recommend


def candidate(id_: str, d50: tuple[float, float], doa: tuple[float, float], cryst: float = 90.0) -> dict:
    return {
        "id": id_,
        "D50_mean": d50[0],
        "D50_std": d50[1],
        "DoA_mean": doa[0],
        "DoA_std": doa[1],
        "crystallinity_mean": cryst,
        "crystallinity_std": 1.0,
        "feasible": cryst >= 80,
    }


def hand_made_plan(front: list[dict], measured: list[dict]) -> Plan:
    spec = PlanSpec(constraints=(Constraint("crystallinity", ">=", 80.0),))
    return Plan(pd.DataFrame(), pd.DataFrame(front), spec, [0.0, -100.0], 0.0, [], pd.DataFrame(measured))


# a guess far from the data (high mean, wide σ) against a measured run (lower mean, narrow σ)
GUESS = candidate("guess", (100.0, 40.0), (10.0, 1.0))
RUN = candidate("run", (80.0, 2.0), (10.0, 1.0))


def test_a_well_measured_run_beats_an_uncertain_guess_under_caution():
    chosen = recommend(hand_made_plan([GUESS], [RUN]), size=4)
    assert chosen["id"].tolist() == ["run"]
    assert chosen["source"].tolist() == ["measured"]
    assert chosen["D50_mean"].tolist() == [80.0]  # the means are reported, not the bounds


def test_ranked_by_the_mean_the_guess_wins_and_without_measured_runs_only_predictions_count():
    assert recommend(hand_made_plan([GUESS], [RUN]), size=4, kappa=0.0)["id"].tolist() == ["guess"]
    alone = recommend(hand_made_plan([GUESS], [RUN]), size=4, measured=False)
    assert alone["source"].tolist() == ["predicted"]


def test_non_dominated_candidates_are_ranked_by_cautious_hypervolume_gain():
    small_doa = candidate("small DoA", (60.0, 1.0), (2.0, 0.5))
    chosen = recommend(hand_made_plan([GUESS, small_doa], [RUN]), size=4)
    assert set(chosen["id"]) == {"run", "small DoA"}
    assert chosen["cautious_hypervolume_rank"].tolist() == [1, 2]


def test_constraint_breaking_candidates_are_left_out_when_others_meet_it():
    amorphous = candidate("amorphous", (150.0, 1.0), (1.0, 0.5), cryst=50.0)
    assert "amorphous" not in recommend(hand_made_plan([amorphous], [RUN]), size=4)["id"].tolist()


def test_negative_caution_is_refused():
    with pytest.raises(ValueError, match="kappa"):
        recommend(hand_made_plan([GUESS], [RUN]), size=4, kappa=-1.0)
