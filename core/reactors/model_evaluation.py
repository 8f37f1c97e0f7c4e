"""Accuracy of dynamics models on held-out operating data.

One-step error: predict every next sample from measured history. Rollout
error: start at evenly spaced points of the test split and run the model
freely for 1 h or 10 h on the recorded setpoints, feeds and feed conditions,
then compare with what the plant did. Errors are RMS in physical units for
reactor temperatures (K), concentrations (mol/L) and coolant commands (K),
plus the RMS of the scaled state (every variable divided by its spread in
the training data) as one overall number. Persistence (the state stays as it
is) is the reference a useful model has to beat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.reactors.learning import DynamicsLearner

RolloutFunction = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
# the errors a caveat compares with persistence: (what is predicted, unit)
CHECKED_ERRORS = {
    "temperature_K": ("reactor temperatures", "K"),
    "concentration_mol_L": ("concentrations", "mol/L"),
    "coolant_K": ("coolant commands", "K"),
}


@dataclass(frozen=True)
class ErrorSummary:
    temperature_K: float
    concentration_mol_L: float
    coolant_K: float
    scaled: float
    n_windows: int

    def to_dict(self) -> dict:
        return asdict(self)


def persistence_rollout(states: np.ndarray, inputs: np.ndarray, horizon: int) -> np.ndarray:
    """Reference predictor: the last measured state, held."""
    return np.repeat(states[:, -1:], horizon, axis=1)


def _summarise(learner: DynamicsLearner, predicted: np.ndarray, actual: np.ndarray) -> ErrorSummary:
    n = learner.config_.n_reactors
    error = predicted - actual
    scaled = error / learner.scaler_.state_scale

    def rms(block: np.ndarray) -> float:
        return float(np.sqrt(np.mean(block**2)))

    return ErrorSummary(
        temperature_K=rms(error[..., 2 * n : 3 * n]),
        concentration_mol_L=rms(error[..., : 2 * n]),
        coolant_K=rms(error[..., 3 * n :]),
        scaled=rms(scaled),
        n_windows=int(np.prod(error.shape[:-1])),
    )


def rollout_errors(
    learner: DynamicsLearner,
    frame: pd.DataFrame,
    horizon_steps: int,
    n_starts: int = 20,
    predictor: RolloutFunction | None = None,
) -> ErrorSummary:
    """RMS error over free-running rollouts of ``horizon_steps`` from evenly spaced starts.

    ``predictor`` defaults to the learner's own rollout; pass
    `persistence_rollout` for the reference.
    """
    states = frame[learner.state_names_].to_numpy(dtype=float)
    inputs = frame[learner.input_names_].to_numpy(dtype=float)
    w = learner.window_
    last_start = len(frame) - horizon_steps - 1
    if last_start < w - 1:
        raise ValueError(f"The data hold {len(frame)} samples, too few for a {horizon_steps}-step rollout.")
    starts = np.unique(np.linspace(w - 1, last_start, n_starts).astype(int))
    history = np.stack([states[s - w + 1 : s + 1] for s in starts])
    applied = np.stack([inputs[s - w + 1 : s + horizon_steps] for s in starts])
    actual = np.stack([states[s + 1 : s + horizon_steps + 1] for s in starts])
    predict = predictor or learner.rollout
    return _summarise(learner, predict(history, applied, horizon_steps), actual)


def one_step_errors(learner: DynamicsLearner, frame: pd.DataFrame) -> ErrorSummary:
    """RMS error of the one-sample-ahead prediction over the whole frame."""
    states = frame[learner.state_names_].to_numpy(dtype=float)
    inputs = frame[learner.input_names_].to_numpy(dtype=float)
    w = learner.window_
    ends = np.arange(w - 1, len(frame) - 1)
    history = states[ends[:, None] + np.arange(-w + 1, 1)]
    applied = inputs[ends[:, None] + np.arange(-w + 1, 1)]
    predicted = np.concatenate(
        [learner.rollout(history[i : i + 1024], applied[i : i + 1024], 1) for i in range(0, len(ends), 1024)]
    )
    return _summarise(learner, predicted[:, 0], states[ends + 1])


def model_report(learner: DynamicsLearner, test: pd.DataFrame, n_starts: int = 20) -> dict:
    """One-step, 1 h and 10 h errors of a learner and of persistence on the test split."""
    steps_per_hour = round(60.0 / learner.dt_)
    report = {"model": learner.kind, "one_step": one_step_errors(learner, test).to_dict()}
    reference = {"model": "persistence"}
    for label, hours in (("rollout_1h", 1), ("rollout_10h", 10)):
        horizon = hours * steps_per_hour
        if len(test) <= horizon + learner.window_:
            continue
        report[label] = rollout_errors(learner, test, horizon, n_starts).to_dict()
        reference[label] = rollout_errors(learner, test, horizon, n_starts, persistence_rollout).to_dict()
    report["best_val_loss"] = learner.best_val_loss_
    report["train_time_s"] = learner.train_time_s_
    return {"model": report, "persistence": reference}


def model_caveats(report: dict) -> list[str]:
    """One sentence per quantity the model's 1 h rollout predicts no better than persistence.

    The planners look 30 min ahead; where the model is no better than holding the last state it has not learned
    those dynamics, and plans that rest on them can look safe and not be. Empty when the test split is too short
    for a 1 h rollout (no reference to judge by)."""
    model, reference = report["model"].get("rollout_1h"), report["persistence"].get("rollout_1h")
    if not model or not reference:
        return []
    return [
        f"The {report['model']['model']} model predicts the {what} 1 h ahead no better than holding them "
        f"(RMS error {model[key]:.3g} {unit} against {reference[key]:.3g} {unit}): its plans are not to be trusted "
        "there; train it longer or on a longer record."
        for key, (what, unit) in CHECKED_ERRORS.items()
        if model[key] >= reference[key]
    ]
