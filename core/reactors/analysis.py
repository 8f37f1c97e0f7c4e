"""What the reactor screen computes and tabulates, free of any UI.

Training with the screen's settings, the model-accuracy and optimiser tables,
the rollout window a test split allows and the rollouts in it, one closed-loop
scenario, and the closed-loop and disturbance tables. The screen only caches
these calls, draws widgets and plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.progress import Progress
from core.reactors.closed_loop import CONTROLLERS, compare_controllers, summary_table
from core.reactors.control import PIConfig
from core.reactors.learning import DynamicsLearner
from core.reactors.network import NetworkConfig
from core.reactors.planning import PlannerSettings
from core.reactors.scenarios import evaluation_scenarios

MODEL_LABELS = {"lstm": "LSTM with attention", "lagrangian": "Lagrangian + dissipation", "node": "Neural ODE (MLP)"}
ROLLOUT_ERRORS = (("1 h", "rollout_1h"), ("10 h", "rollout_10h"))
# Columns of the closed-loop table and the `summary_table` key each shows.
CLOSED_LOOP_COLUMNS = {
    "throughput (kg/h)": "throughput_kg_h",
    "utilisation (%)": "utilization_pct",
    "capacity (%)": "capacity_pct",
    "stability sd (K)": "stability_sd",
    "violations (reactor-min)": "violations",
    "max T (K)": "max_temperature_K",
    "time per decision (ms)": "decision_time_ms",
    "steady-state optimum (kg/h)": "optimum_kg_h",
    "decisions with a feed held back": "held_decisions",  # by the trust limit; planners only
}


def network_summary(config: NetworkConfig) -> str:
    """One sentence on the reactors and the limits the optimiser must respect."""
    return (
        f"Textbook reactors (V 100 L, UA 5·10⁴ J/(min K), k0 7.2·10¹⁰ 1/min, E/R 8750 K, ΔH −5·10⁴ J/mol, feed "
        f"350 K, 1 mol/L); merge reactors twice as large. Limit {config.max_temperature_K:.0f} K, coolant "
        f"{config.coolant_bounds_K[0]:.0f}–{config.coolant_bounds_K[1]:.0f} K, feed per train "
        f"{config.feed_bounds_L_min[0]:.0f}–{config.feed_bounds_L_min[1]:.0f} L/min."
    )


def train_learner(
    parts: dict[str, pd.DataFrame],
    config: NetworkConfig,
    kind: str,
    steps: int,
    optimizer: str,
    rollout: int,
    seed: int,
    progress: Progress | None = None,
) -> DynamicsLearner:
    """Fit one dynamics model on the train split, validating about 20 times and never stopping early."""
    learner = DynamicsLearner(
        kind=kind,
        max_steps=steps,
        optimizer=optimizer,
        rollout_steps=rollout,
        eval_every=max(10, steps // 20),
        patience=1000,
        random_state=seed,
    )
    return learner.fit(parts["train"], parts["validation"], config, progress=progress)


def accuracy_table(reports: dict[str, tuple[DynamicsLearner, dict]]) -> pd.DataFrame:
    """Temperature errors per model (one step and the rollouts the test split allows) beside persistence.

    ``reports`` maps a model kind to its learner and its `model_report`.
    """
    rows = []
    for kind, (learner, report) in reports.items():
        row = {"model": MODEL_LABELS[kind], "one-step T error (K)": report["model"]["one_step"]["temperature_K"]}
        for label, key in ROLLOUT_ERRORS:
            if key in report["model"]:
                row[f"{label} T error (K)"] = report["model"][key]["temperature_K"]
                row[f"{label} persistence (K)"] = report["persistence"][key]["temperature_K"]
        row["training time (s)"] = learner.train_time_s_
        rows.append(row)
    return pd.DataFrame(rows)


def optimizer_table(runs: dict[str, DynamicsLearner]) -> pd.DataFrame:
    """Per optimiser: best validation loss, and the time to reach the loss every optimiser reached."""
    target = max(learner.best_val_loss_ for learner in runs.values())
    return pd.DataFrame(
        [
            {
                "optimiser": name,
                "best validation loss": learner.best_val_loss_,
                "seconds to reach the common target": next(p.time_s for p in learner.history_ if p.val_loss <= target),
                "final learning rate": learner.history_[-1].lr,
                "final momentum": learner.history_[-1].momentum,
            }
            for name, learner in runs.items()
        ]
    )


@dataclass(frozen=True)
class RolloutRange:
    """Where a rollout can start and how long it can run in a test split of ``n_rows`` samples.

    A rollout starting at row ``start`` needs the ``window`` rows ending there as history, and
    predicts rows ``start + 1`` to ``start + horizon``.
    """

    n_rows: int
    window: int

    @property
    def longest(self) -> int:
        return self.n_rows - self.window - 1

    @property
    def first_start(self) -> int:
        return self.window - 1

    def last_start(self, horizon: int) -> int:
        return max(self.first_start, self.n_rows - horizon - 1)


def rollout_range(n_rows: int, learners: dict[str, DynamicsLearner]) -> RolloutRange:
    """The range every learner can roll out in: the longest history window decides."""
    return RolloutRange(n_rows, max(learner.window_ for learner in learners.values()))


def rollouts(
    test: pd.DataFrame, learners: dict[str, DynamicsLearner], variable: str, start: int, horizon: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Free-running predictions of ``variable`` from ``start`` on: hours axis, measured values, one series per model."""
    names = next(iter(learners.values())).state_names_
    states = test[names].to_numpy()
    column = names.index(variable)
    predictions = {}
    for kind, learner in learners.items():
        w = learner.window_
        history = states[start - w + 1 : start + 1][None]
        applied = test[learner.input_names_].to_numpy()[start - w + 1 : start + horizon][None]
        predictions[MODEL_LABELS[kind]] = learner.rollout(history, applied, horizon)[0, :, column]
    ahead = slice(start + 1, start + horizon + 1)
    return test["time_min"].to_numpy()[ahead] / 60.0, states[ahead, column], predictions


def closed_loop_scenario(
    config: NetworkConfig,
    pi: PIConfig,
    learner: DynamicsLearner,
    hours: float,
    scenario: str,
    progress: Progress | None = None,
) -> tuple[dict, dict[str, pd.DataFrame], list[dict]]:
    """The three supervisors on one evaluation scenario: summary table, record per supervisor, disturbances."""
    schedule = evaluation_scenarios(config, hours)[scenario]
    runs = compare_controllers(config, pi, learner, hours=hours, scenarios={scenario: schedule}, progress=progress)
    return summary_table(runs), {run.controller: run.record for run in runs}, schedule.to_list()


def closed_loop_table(table: dict[str, dict]) -> pd.DataFrame:
    """One row per supervisor of `summary_table`, in the order PI, learned, oracle, with its share of the optimum."""
    rows = [
        {"supervisor": name}
        | {column: table[name].get(key) for column, key in CLOSED_LOOP_COLUMNS.items()}
        | {"share of optimum (%)": 100 * table[name]["share_of_optimum"]}
        for name in CONTROLLERS
        if name in table
    ]
    return pd.DataFrame(rows)


def held_back_note(table: dict[str, dict], limit_K: float | None = PlannerSettings.trust_limit_K) -> str | None:
    """Says how often the trust limit held the learned optimiser's feeds back in a `summary_table`, if it did."""
    held = table.get("learned", {}).get("held_decisions", 0)
    if not held:
        return None
    return (
        f"In {held} of its decisions the learned optimiser held a feed back: its model missed the coolant command of "
        f"a reactor that feed reaches by more than {limit_K:g} K, so it had lost that loop "
        "(as through a cooling failure), and a higher feed would have rested on guesses."
    )


def disturbance_table(events: list[dict]) -> pd.DataFrame:
    """The scenario's disturbance events with their start and end in hours."""
    frame = pd.DataFrame(events)
    return frame.assign(start_h=np.round(frame["start_min"] / 60, 2), end_h=np.round(frame["end_min"] / 60, 2))[
        ["kind", "target", "magnitude", "start_h", "end_h"]
    ]
