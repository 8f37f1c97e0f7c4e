"""Learning the network dynamics from operating data.

`DynamicsLearner` follows the scikit-learn estimator contract: ``__init__``
stores settings, `fit` learns from the training split (validation split for
early stopping) and returns self, learned attributes end in ``_``. The model
predicts the scaled state derivative ``(x[t+1] - x[t]) / dt``; a step is
``x[t+1] = x[t] + dt * derivative``, which makes every model a discrete-time
predictor of the plant with its temperature loops closed (its inputs are the
setpoints, feeds and measured feed conditions).

With ``rollout_steps > 1`` the loss also covers a few steps of free-running
prediction, which trades one-step accuracy for stable long rollouts. The
validation loss (early stopping, model selection) is the same objective on
validation windows.

With ``barrier_weight > 0`` the loss also charges every reactor temperature
of those free-running steps that approaches or passes the plant limit
(`limit_barrier`, the same shape the planner uses). It is scaled so that
``barrier_weight = 1`` makes a kelvin past the limit cost as much as a
kelvin of one-step temperature error in the fit term; a prediction right at
the limit costs like an error of one barrier width. The recorded data rarely
pass the limit, so the term mostly restrains rollouts that run away, but
its Gaussian side also pulls predictions near the limit down (data there
included): a trade of accuracy near the limit for restraint beyond it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.progress import Progress
from core.reactors.dynamics_models import MODEL_KINDS, build_dynamics_net
from core.reactors.network import NetworkConfig
from core.reactors.optimizers import HypergradientAdam, PolicyGradientController
from core.reactors.plant import input_columns, state_columns

OPTIMIZERS = ("adam", "hypergradient", "policy-gradient")
PROGRESS_EVERY_S = 2.0  # at most this long between progress reports while training
BARRIER_WIDTH_K = 2.0  # width of the training barrier, as the planner's default


def limit_barrier(margin: torch.Tensor, width: float) -> torch.Tensor:
    """exp(-m^2 / 2 width^2) for a margin m >= 0 to a limit; 1 + (m / width)^2 once it is crossed (m < 0).

    The seed's Gaussian barrier, continued quadratically past the limit so
    that a crossing keeps costing more (value 1 and slope 0 meet at m = 0).
    Written in torch for the training loss; the planner's NumPy
    `core.reactors.planning.barrier_penalty` calls it too.
    """
    inside = torch.exp(-0.5 * (margin.clamp(min=0.0) / width) ** 2)
    return torch.where(margin >= 0, inside, 1.0 + (margin / width) ** 2)


@dataclass(frozen=True)
class TrainingPoint:
    step: int
    time_s: float
    train_loss: float
    val_loss: float
    lr: float
    momentum: float
    val_barrier: float = 0.0  # the weighted barrier's share of val_loss


@dataclass
class Scaler:
    state_mean: np.ndarray
    state_scale: np.ndarray
    input_mean: np.ndarray
    input_scale: np.ndarray
    derivative_scale: np.ndarray

    @classmethod
    def fit(cls, states: np.ndarray, inputs: np.ndarray, dt: float) -> Scaler:
        derivative = np.diff(states, axis=0) / dt
        return cls(
            states.mean(axis=0),
            _scale(states),
            inputs.mean(axis=0),
            _scale(inputs),
            _scale(derivative),
        )

    def to_dict(self) -> dict:
        return {key: value.tolist() for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        return cls(**{key: np.asarray(value, dtype=float) for key, value in data.items()})


def _scale(values: np.ndarray) -> np.ndarray:
    sd = values.std(axis=0)
    return np.where(sd > 1e-6, sd, 1.0)


class DynamicsLearner:
    """Fits one of the dynamics models (`MODEL_KINDS`) with one of the `OPTIMIZERS`.

    Parameters: ``kind``; ``hidden`` width; ``window`` (history length, LSTM
    only); ``max_steps`` optimiser steps; ``batch_size``; ``lr`` initial
    learning rate; ``optimizer``; ``rollout_steps`` free-running steps in the
    loss; ``barrier_weight`` of the temperature-limit barrier on those
    steps (0 = none; see the module docstring for its units); ``eval_every``
    steps between validation checks; ``patience`` validation checks without
    improvement before stopping; ``max_time_s`` wall-clock budget (None for
    none); ``random_state``.
    """

    def __init__(
        self,
        kind: str = "lstm",
        hidden: int = 64,
        window: int = 8,
        max_steps: int = 3000,
        batch_size: int = 256,
        lr: float = 2e-3,
        optimizer: str = "adam",
        rollout_steps: int = 1,
        barrier_weight: float = 0.0,
        eval_every: int = 100,
        patience: int = 8,
        max_time_s: float | None = None,
        random_state: int = 0,
    ):
        self.kind = kind
        self.hidden = hidden
        self.window = window
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.rollout_steps = rollout_steps
        self.barrier_weight = barrier_weight
        self.eval_every = eval_every
        self.patience = patience
        self.max_time_s = max_time_s
        self.random_state = random_state

    def get_params(self) -> dict:
        return {
            key: getattr(self, key)
            for key in (
                "kind",
                "hidden",
                "window",
                "max_steps",
                "batch_size",
                "lr",
                "optimizer",
                "rollout_steps",
                "barrier_weight",
                "eval_every",
                "patience",
                "max_time_s",
                "random_state",
            )
        }

    # ----------------------------------------------------------------- fitting
    def fit(
        self,
        train: pd.DataFrame,
        validation: pd.DataFrame,
        config: NetworkConfig,
        progress: Progress | None = None,
    ) -> DynamicsLearner:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"Unknown model {self.kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimiser {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if not (np.isfinite(self.barrier_weight) and self.barrier_weight >= 0):
            raise ValueError(f"The barrier weight must be zero or a positive number, got {self.barrier_weight}.")
        torch.manual_seed(self.random_state)
        self.config_ = config
        self.state_names_ = state_columns(config)
        self.input_names_ = input_columns(config)
        self.dt_ = float(np.median(np.diff(train["time_min"].to_numpy()))) if len(train) > 1 else 1.0
        self.window_ = self.window if self.kind == "lstm" else 1
        horizon = self.window_ + self.rollout_steps
        for name, part in (("training", train), ("validation", validation)):
            if len(part) < horizon + 1:
                raise ValueError(f"The {name} split has {len(part)} rows; at least {horizon + 1} are needed.")
        train_states, train_inputs = self._arrays(train)
        self.scaler_ = Scaler.fit(train_states, train_inputs, self.dt_)
        self.net_ = build_dynamics_net(
            self.kind, len(self.state_names_), len(self.input_names_), self.hidden, self.window
        )
        xs, us = self._scaled(train_states, train_inputs)
        starts = np.arange(len(xs) - horizon)
        val_x, val_u = (torch.as_tensor(a, dtype=torch.float32) for a in self._scaled(*self._arrays(validation)))
        val_starts = np.arange(len(val_x) - horizon)
        if len(val_starts) > 2000:
            val_starts = np.sort(np.random.default_rng(self.random_state).choice(val_starts, 2000, replace=False))
        val_starts = torch.as_tensor(val_starts)
        optimizer, controller = self._make_optimizer()
        generator = torch.Generator().manual_seed(self.random_state)
        xs_t, us_t = torch.as_tensor(xs, dtype=torch.float32), torch.as_tensor(us, dtype=torch.float32)
        best_val, best_state, waited = np.inf, None, 0
        self.history_: list[TrainingPoint] = []
        running: list[float] = []
        start_time = time.perf_counter()
        last_report = 0.0
        for step in range(1, self.max_steps + 1):
            index = torch.as_tensor(starts)[torch.randint(len(starts), (self.batch_size,), generator=generator)]
            fit, barrier = self._sequence_loss(xs_t, us_t, index)
            loss = fit + barrier
            optimizer.zero_grad()
            if torch.isfinite(loss):  # a diverged batch must not poison the weights
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net_.parameters(), 10.0)
                optimizer.step()
            running.append(loss.item())
            if controller is not None:
                controller.observe(running[-1])
            elapsed = time.perf_counter() - start_time
            out_of_time = self.max_time_s is not None and elapsed > self.max_time_s
            if progress and elapsed - last_report >= PROGRESS_EVERY_S and step % self.eval_every:
                # slow models take minutes between validation checks; the running training loss shows life
                progress(*self._progress_report(step, elapsed, float(np.mean(running)), "training"))
                last_report = elapsed
            if step % self.eval_every == 0 or step == self.max_steps or out_of_time:
                val_loss, val_barrier = self._validation_loss(val_x, val_u, val_starts)
                group = optimizer.param_groups[0]
                momentum = group["betas"][0] if "betas" in group else group.get("momentum", 0.0)
                self.history_.append(
                    TrainingPoint(step, elapsed, float(np.mean(running)), val_loss, group["lr"], momentum, val_barrier)
                )
                running = []
                if val_loss < best_val:
                    best_val, waited = val_loss, 0
                    best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
                else:
                    waited += 1
                if progress:
                    progress(*self._progress_report(step, elapsed, val_loss, "validation"))
                    last_report = elapsed
                if waited >= self.patience or out_of_time:
                    break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.best_val_loss_ = float(best_val)
        self.train_time_s_ = time.perf_counter() - start_time
        self.net_.eval()
        return self

    def _progress_report(self, step: int, elapsed: float, loss: float, which: str) -> tuple[float, str]:
        """Fraction done (steps or budget, whichever is nearer its end) and step, loss and time left."""
        fraction = step / self.max_steps
        message = f"{self.kind}: step {step}/{self.max_steps}, {which} loss {loss:.4f}"
        if self.max_time_s is not None:
            fraction = max(fraction, elapsed / self.max_time_s)
            message += f", {max(self.max_time_s - elapsed, 0.0):.0f} s left of {self.max_time_s:g} s"
        return min(fraction, 1.0), message

    def _make_optimizer(self):
        params = self.net_.parameters()
        if self.optimizer == "hypergradient":
            return HypergradientAdam(params, lr=self.lr), None
        if self.optimizer == "policy-gradient":
            optimizer = torch.optim.Adam(params, lr=self.lr)
            return optimizer, PolicyGradientController(optimizer, random_state=self.random_state)
        optimizer = torch.optim.Adam(params, lr=self.lr)
        return optimizer, None

    def _arrays(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [c for c in self.state_names_ + self.input_names_ if c not in frame.columns]
        if missing:
            raise ValueError(f"The data lack {len(missing)} required columns, e.g. {', '.join(missing[:5])}.")
        states = frame[self.state_names_].to_numpy(dtype=float)
        inputs = frame[self.input_names_].to_numpy(dtype=float)
        if not (np.isfinite(states).all() and np.isfinite(inputs).all()):
            raise ValueError("The data contain blank or non-numeric values in state or input columns.")
        return states, inputs

    def _scaled(self, states: np.ndarray, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.scaler_
        return (states - s.state_mean) / s.state_scale, (inputs - s.input_mean) / s.input_scale

    @property
    def _step_gain(self) -> torch.Tensor:
        """Scaled derivative -> change of the scaled state over one sample."""
        s = self.scaler_
        return torch.as_tensor(self.dt_ * s.derivative_scale / s.state_scale, dtype=torch.float32)

    def _sequence_loss(
        self, xs: torch.Tensor, us: torch.Tensor, index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fit term and weighted barrier term of the windows starting at ``index``, averaged over the steps."""
        w = self.window_
        offsets = torch.arange(w + self.rollout_steps)
        x_seq = xs[index[:, None] + offsets]
        u_seq = us[index[:, None] + offsets]
        gain = self._step_gain
        states = x_seq[:, :w]
        fit, barrier = 0.0, torch.zeros(())
        for k in range(self.rollout_steps):
            derivative = self.net_(states, u_seq[:, k : k + w])
            predicted = states[:, -1] + gain * derivative
            fit = fit + (((predicted - x_seq[:, w + k]) / gain) ** 2).mean()
            if self.barrier_weight > 0:
                barrier = barrier + self.barrier_weight * self.temperature_barrier(predicted)
            states = torch.cat([states[:, 1:], predicted.unsqueeze(1)], dim=1)
        return fit / self.rollout_steps, barrier / self.rollout_steps

    def temperature_barrier(self, scaled_states: torch.Tensor) -> torch.Tensor:
        """Barrier on the reactor temperatures of ``(B, n_states)`` scaled states, in units of the fit term.

        Each temperature's `limit_barrier` is multiplied by (width / (dt s))^2,
        s being the spread of its derivative in the training data, i.e. the
        fit term's charge for a temperature error of one barrier width; past
        the limit that adds the fit term's charge for an error the size of
        the overshoot. Summed over reactors and divided by the number of
        states, as the fit term averages over all of them.
        """
        s = self.scaler_
        columns = self._temperature_columns
        mean = torch.as_tensor(s.state_mean[columns], dtype=scaled_states.dtype)
        scale = torch.as_tensor(s.state_scale[columns], dtype=scaled_states.dtype)
        error_scale = torch.as_tensor(
            (BARRIER_WIDTH_K / (self.dt_ * s.derivative_scale[columns])) ** 2, dtype=scaled_states.dtype
        )
        temperatures = scaled_states[:, columns] * scale + mean
        barrier = limit_barrier(self.config_.max_temperature_K - temperatures, BARRIER_WIDTH_K)
        return (barrier * error_scale).sum(dim=1).mean() / scaled_states.shape[1]

    @property
    def _temperature_columns(self) -> list[int]:
        return [self.state_names_.index(f"T_{i + 1}") for i in range(self.config_.n_reactors)]

    def _validation_loss(self, xs: torch.Tensor, us: torch.Tensor, starts: torch.Tensor) -> tuple[float, float]:
        """The training objective on validation windows and its barrier part (no gradients)."""
        totals, barriers = [], []
        with torch.no_grad():
            for i in range(0, len(starts), 512):
                batch = starts[i : i + 512]
                fit, barrier = self._sequence_loss(xs, us, batch)
                totals.append((fit + barrier) * len(batch))
                barriers.append(barrier * len(batch))
        return float(sum(totals) / len(starts)), float(sum(barriers) / len(starts))

    # -------------------------------------------------------------- prediction
    def one_step_windows(self, frame: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scaled windows and derivative targets of every usable row of ``frame``."""
        x, u = self._scaled(*self._arrays(frame))
        return _one_step_windows(x, u, self.window_, gain=self._step_gain.numpy())

    def rollout(self, states: np.ndarray, inputs: np.ndarray, horizon: int) -> np.ndarray:
        """Free-running prediction of the next ``horizon`` states.

        ``states``: ``(B, W, n_states)`` history ending at the current time;
        ``inputs``: ``(B, W + horizon - 1, n_inputs)`` from the start of the
        history to the last applied input. Physical units in and out.
        """
        with torch.no_grad():
            predicted = self.rollout_tensor(states, torch.as_tensor(inputs, dtype=torch.float32), horizon)
        return predicted.numpy().astype(float)

    def rollout_tensor(self, states: np.ndarray, inputs: torch.Tensor, horizon: int) -> torch.Tensor:
        """`rollout` that keeps the autograd graph: gradients of the prediction reach ``inputs``."""
        s = self.scaler_
        w = self.window_
        x = torch.as_tensor((states[:, -w:] - s.state_mean) / s.state_scale, dtype=torch.float32)
        u_all = inputs[:, inputs.shape[1] - (w + horizon - 1) :]
        u = (u_all - torch.as_tensor(s.input_mean, dtype=torch.float32)) / torch.as_tensor(
            s.input_scale, dtype=torch.float32
        )
        gain = self._step_gain
        out = []
        for k in range(horizon):
            nxt = x[:, -1] + gain * self.net_(x, u[:, k : k + w])
            out.append(nxt)
            x = torch.cat([x[:, 1:], nxt.unsqueeze(1)], dim=1)
        predicted = torch.stack(out, dim=1)
        return predicted * torch.as_tensor(s.state_scale, dtype=torch.float32) + torch.as_tensor(
            s.state_mean, dtype=torch.float32
        )

    def attention(self, frame: pd.DataFrame, max_windows: int = 2000) -> tuple[pd.Series, pd.Series]:
        """Mean variable-attention weight per variable and time weight per lag (LSTM only)."""
        if self.kind != "lstm":
            raise ValueError("Only the LSTM model has attention weights.")
        x_win, u_win, _ = self.one_step_windows(frame)
        step = max(1, len(x_win) // max_windows)
        with torch.no_grad():
            _, variables, times = self.net_.attention(x_win[::step], u_win[::step])
        names = self.state_names_ + self.input_names_
        lags = [f"t-{lag}" for lag in range(self.window_ - 1, -1, -1)]
        return (
            pd.Series(variables.mean(dim=(0, 1)).numpy(), index=names, name="weight"),
            pd.Series(times.mean(dim=0).numpy(), index=lags, name="weight"),
        )

    # ------------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``<kind>.json`` (settings, scaling, history) and ``<kind>.npz`` (weights)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "params": self.get_params(),
            "config": self.config_.to_dict(),
            "dt": self.dt_,
            "scaler": self.scaler_.to_dict(),
            "history": [asdict(point) for point in self.history_],
            "best_val_loss": self.best_val_loss_,
            "train_time_s": self.train_time_s_,
        }
        (directory / f"{self.kind}.json").write_text(json.dumps(meta, indent=1))
        np.savez(directory / f"{self.kind}.npz", **{k: v.numpy() for k, v in self.net_.state_dict().items()})
        return directory / f"{self.kind}.json"

    @classmethod
    def load(cls, directory: str | Path, kind: str) -> DynamicsLearner:
        directory = Path(directory)
        meta_path, weight_path = directory / f"{kind}.json", directory / f"{kind}.npz"
        if not meta_path.exists() or not weight_path.exists():
            raise FileNotFoundError(f"No trained {kind} model in {directory} (expected {kind}.json and {kind}.npz).")
        meta = json.loads(meta_path.read_text())
        learner = cls(**meta["params"])
        learner.config_ = NetworkConfig.from_dict(meta["config"])
        learner.state_names_ = state_columns(learner.config_)
        learner.input_names_ = input_columns(learner.config_)
        learner.dt_ = meta["dt"]
        learner.window_ = learner.window if kind == "lstm" else 1
        learner.scaler_ = Scaler.from_dict(meta["scaler"])
        learner.history_ = [TrainingPoint(**point) for point in meta["history"]]
        learner.best_val_loss_ = meta["best_val_loss"]
        learner.train_time_s_ = meta["train_time_s"]
        learner.net_ = build_dynamics_net(
            kind, len(learner.state_names_), len(learner.input_names_), learner.hidden, learner.window
        )
        with np.load(weight_path, allow_pickle=False) as weights:
            learner.net_.load_state_dict({k: torch.as_tensor(weights[k]) for k in weights.files})
        learner.net_.eval()
        return learner


def _one_step_windows(x: np.ndarray, u: np.ndarray, window: int, gain: np.ndarray) -> tuple[torch.Tensor, ...]:
    """Windows ending at every row that has a successor, with the scaled-derivative target.

    ``gain`` converts a change of the scaled state into a scaled derivative
    (it is dt * derivative_scale / state_scale).
    """
    ends = np.arange(window - 1, len(x) - 1)
    offsets = np.arange(-window + 1, 1)
    x_win = x[ends[:, None] + offsets]
    u_win = u[ends[:, None] + offsets]
    target = (x[ends + 1] - x[ends]) / gain
    return tuple(torch.as_tensor(a, dtype=torch.float32) for a in (x_win, u_win, target))
