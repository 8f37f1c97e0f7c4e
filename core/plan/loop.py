"""Closing the loop: measured plan runs join the data, and each round's state is recorded.

A round is summarised by what the planner's models predict after it: the
hypervolume of the predicted front (same reference point every round, so the
numbers compare), the mean predictive σ of the objectives on that front, and
how many runs of each profile type the data holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.doe import DoEData, LoadResult, Schema, append_rows, load_doe
from core.plan.propose import Plan, PlanSpec, hypervolume, merged_front, objective_matrix
from core.virtual_lab.simulator import simulate_rows


def append_filled_workbook(data: DoEData, content: bytes, filename: str) -> LoadResult:
    """The data with the filled plan workbook's measured runs appended, validated again as one sheet.

    The workbook is read like any DoE file, so one with no measured CQA is refused with the reader's
    message; nothing is appended then and the caller keeps `data`.
    """
    filled = load_doe(content, filename=filename, schema=data.schema)
    if filled.data is None:
        return filled
    frame = filled.data.frame
    measured = frame[data.schema.cqa_names].notna().any(axis=1)
    return append_rows(data, frame[measured].reset_index(drop=True))


def lab_results(runs: pd.DataFrame, simulated: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Rows to append: run id and inputs of the runs with the (virtual) lab's CQAs."""
    rows = runs[["id", *schema.input_names]].rename(columns={"id": "run_id"}).reset_index(drop=True)
    for cqa in schema.cqa_names:
        rows[cqa] = simulated[cqa].to_numpy(float)
    return rows


@dataclass(frozen=True)
class RoundSummary:
    round: int
    n_runs: int
    hypervolume: float  # of the predicted front, against the first round's reference point
    mean_sigma: float  # mean predictive std of the objectives on the predicted front, in units of their data spread
    runs_per_type: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


def summarise_round(
    round_no: int, plan: Plan, data: DoEData, reference: np.ndarray, spec: PlanSpec | None = None
) -> RoundSummary:
    spec = spec or plan.spec
    front = merged_front(plan.front, spec)
    sigmas = []
    for o in spec.objectives:
        scale = float(data.cqa(o.quantity).std())
        sigmas.append(front[f"{o.quantity}_std"].to_numpy(float) / (scale if scale > 0 else 1.0))
    return RoundSummary(
        round=round_no,
        n_runs=len(data),
        hypervolume=hypervolume(objective_matrix(front, spec.objectives), reference) if len(front) else 0.0,
        mean_sigma=float(np.mean(sigmas)) if len(front) else float("nan"),
        runs_per_type={str(k): int(v) for k, v in data.profile_types().value_counts().sort_index().items()},
    )


def history_frame(rounds: list[RoundSummary]) -> pd.DataFrame:
    """One row per round; runs per profile type as columns."""
    rows = [{k: v for k, v in r.to_dict().items() if k != "runs_per_type"} | r.runs_per_type for r in rounds]
    return pd.DataFrame(rows).fillna(0)


def run_in_virtual_lab(data: DoEData, runs: pd.DataFrame, random_state: int = 0) -> LoadResult:
    """The data with the runs "measured" by the virtual lab (with its batch and measurement noise) appended."""
    simulated = simulate_rows(
        runs[data.schema.input_names].reset_index(drop=True),
        noise=True,
        random_state=random_state,
        max_cycles=data.schema.max_cycles,
    )
    failed = simulated["error"].dropna()
    if len(failed):
        raise ValueError(f"the virtual lab cannot run {runs['id'].iloc[failed.index[0]]}: {failed.iloc[0]}")
    return append_rows(data, lab_results(runs, simulated, data.schema))
