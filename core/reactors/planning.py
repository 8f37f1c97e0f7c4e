"""Economic optimisation of the network: setpoints and feeds that maximise production.

Every ``replan_every_min`` minutes the optimiser chooses the temperature
setpoints of all reactors and the feed flows of all trains, held for the
next ``horizon_min`` minutes, to maximise predicted production of B. The
temperature limit enters as a barrier on the predicted temperatures (the
seed's Gaussian barrier inside the limit, growing quadratically beyond it,
placed ``temperature_margin_K`` below the limit), and large moves from the
current plan are charged lightly. A steadiness term (off by default) charges
the predicted variance of every reactor temperature over the horizon plus the
squared change of its setpoint, in kg/h per K²: the metric a steady plant is
judged by. The search is the cross-entropy method:
sample candidate plans around the current belief, keep the best fraction,
refit, repeat; it needs only forward predictions, so the same optimiser runs
on a learned model (`LearnedModelPredictor`) and on the true simulator
(`TrueModelPredictor`, which also knows the current disturbances: the best
achievable, the oracle). ``offset_window_min`` (10 min by default) corrects
the learned model's forecasts for its recent error (`LearnedModelPredictor`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import numpy as np
import torch

from core.reactors.control import ClosedLoopModel
from core.reactors.integrator import StiffIntegrator
from core.reactors.learning import DynamicsLearner, limit_barrier
from core.reactors.network import NetworkConfig, NetworkModel
from core.reactors.plant import Plant, input_columns, ramp_profile, state_columns


def barrier_penalty(margin: np.ndarray, width: float) -> np.ndarray:
    """`limit_barrier` on NumPy margins: the planner scores its candidates in NumPy, training in torch."""
    return limit_barrier(torch.from_numpy(np.array(margin, dtype=float)), width).numpy()


@dataclass(frozen=True)
class PlannerSettings:
    horizon_min: int = 30
    replan_every_min: int = 10
    population: int = 48
    iterations: int = 4
    elite_fraction: float = 0.2
    temperature_margin_K: float = 5.0
    # Coolant reserve above its floor: 4 K made up for coolant forecasts 2-6 K too warm near the floor, which the
    # offset correction (on by default) removes; below that, the reserve only trades throughput
    # (`bench_reactors.py --studies headroom`).
    coolant_headroom_K: float = 0.5
    barrier_width_K: float = 2.0
    barrier_weight_kg_h: float = 400.0
    coolant_weight_kg_h: float = 100.0
    move_weight_kg_h: float = 20.0
    steadiness_weight_kg_h_K2: float = 0.0  # charge on predicted temperature variance and setpoint changes
    max_setpoint_move_K: float | None = 0.0  # per decision; 0 holds the setpoints (PI keeps T steady), None: free
    offset_window_min: int = 10  # learned model: subtract its mean error over this many past minutes (0: off)
    max_feed_move_L_min: float | None = None  # per decision
    # learned model: a feed may not rise while the model's coolant forecast for a reactor it reaches is off by more
    # than this over the offset window (`bench_reactors.py --studies trust`); None: off
    trust_limit_K: float | None = 10.0
    setpoint_window_K: tuple[float, float] = (35.0, 1.0)  # setpoints between T_max - 35 and T_max - 1
    random_state: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def production_rate_kg_h(model: NetworkModel, cb: np.ndarray, feeds: np.ndarray) -> np.ndarray:
    """Product B leaving the network (kg/h) for outlet concentrations ``cb`` (..., n) and feeds (..., n_feeds)."""
    outflow = model.flows(feeds) * model.product_fraction
    return (outflow * cb).sum(axis=-1) * model.config.product_molar_mass_g_mol * 60.0 / 1000.0


class TrueModelPredictor:
    """Predicts with the true closed-loop simulator from the plant's true state and disturbances.

    With ``foresight`` it also knows the disturbances to come over the horizon.
    A candidate whose predicted temperature passes ``T_max + runaway_K`` is
    stopped there (its remaining temperatures stay at that level): the barrier
    already rules it out, and following an ignition in detail would force tiny
    integration steps on the whole batch.
    """

    name = "oracle"

    def __init__(self, plant: Plant, runaway_K: float = 25.0, foresight: bool = False):
        self.plant = plant
        self.foresight = foresight  # follow the disturbance schedule over the horizon, not just what is in force
        self.loop: ClosedLoopModel = plant.loop
        self.cap = plant.config.max_temperature_K + runaway_K
        self.integrator = StiffIntegrator(plant.loop, rtol=1e-2, atol_concentration=5e-3, atol_temperature=0.5)

    def predict(self, setpoints: np.ndarray, feeds: np.ndarray, horizon: int) -> tuple[np.ndarray, ...]:
        """Temperatures, B concentrations and coolant commands ``(P, horizon, n)`` for P candidate plans."""
        plant, n = self.plant, self.plant.n
        conditions = plant.conditions()
        sp_path = ramp_profile(plant.setpoints_, setpoints, plant.setpoint_ramp_K_min * plant.sample_min, horizon)
        feed_path = ramp_profile(plant.feed_requests_, feeds, plant.feed_ramp_L_min2 * plant.sample_min, horizon)
        z = np.tile(plant.state_, (len(setpoints), 1))
        temps = np.full((len(setpoints), horizon, n), self.cap)
        cbs = np.zeros((len(setpoints), horizon, n))
        coolant = np.full((len(setpoints), horizon, n), plant.config.coolant_bounds_K[0])
        active = np.arange(len(setpoints))
        for k in range(horizon):
            if self.foresight:
                conditions = plant.schedule.at(plant.t_min + k * plant.sample_min)
            inputs = {
                "setpoints": sp_path[active, k],
                "feeds": feed_path[active, k] * conditions.supply_factor,
                **conditions.model_inputs(),
            }
            coolant[active, k] = self.loop.coolant(z[active], sp_path[active, k])
            z[active] = self.integrator.advance(z[active], plant.sample_min, inputs)
            temps[active, k] = np.minimum(z[active, 2 * n : 3 * n], self.cap)
            cbs[active, k] = z[active, n : 2 * n]
            active = active[z[active, 2 * n : 3 * n].max(axis=1) < self.cap]
            if len(active) == 0:
                break
        return temps, cbs, coolant


class LearnedModelPredictor:
    """Predicts with a learned dynamics model from measured history only.

    With ``offset_window_min`` > 0 every forecast is corrected for the
    model's offset at the present operating point (offset-free MPC): the
    model is re-run over the last ``offset_window_min`` minutes from the state
    measured then, with the inputs actually applied, and its mean error
    against what was measured since (`offset`) is subtracted from every
    predicted state. A model trained on data that rarely reach a limit can be
    off there by several kelvin — the coolant command near its floor, where
    the temperature has no reserve against a disturbance — and the planner's
    barriers are only as good as the predictions they see.
    """

    name = "learned"

    def __init__(self, plant: Plant, learner: DynamicsLearner, offset_window_min: int = 0):
        if offset_window_min < 0:
            raise ValueError("The offset window must be zero (off) or a positive number of minutes.")
        self.plant = plant
        self.learner = learner
        self.offset_window_min = offset_window_min
        self.state_names = state_columns(plant.config)
        self.input_names = input_columns(plant.config)
        self._offset_time: float | None = None
        self._offset = np.zeros(len(self.state_names))

    def measured_now(self) -> np.ndarray:
        """The measured state now: sensor readings and the coolant commands the control system reports."""
        plant = self.plant
        return np.concatenate([plant.observe(), plant.loop.coolant(plant.state_, plant.setpoints_)])

    def offset(self) -> np.ndarray:
        """The model's mean error (predicted - measured) per state over the last window; zeros when off.

        Computed once per plant time; zeros until the plant has logged the
        window plus the model's history.
        """
        plant, w, span = self.plant, self.learner.window_, self.offset_window_min
        if span == 0 or plant.t_min == self._offset_time:
            return self._offset
        self._offset_time = plant.t_min
        states = plant.history(self.state_names, span + w - 1)
        inputs = plant.history(self.input_names, span + w - 1)
        if len(states) < span + w - 1:
            return self._offset
        hindcast = self.learner.rollout(states[None, :w], inputs[None], span)[0]
        measured = np.vstack([states[w:], self.measured_now()])
        self._offset = (hindcast - measured).mean(axis=0)
        return self._offset

    def context(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Measured history ``(w, states)``, applied inputs ``(w - 1, inputs)`` and the feed conditions now."""
        plant, w = self.plant, self.learner.window_
        current = self.measured_now()
        past_states = plant.history(self.state_names, w - 1)
        past_inputs = plant.history(self.input_names, w - 1)
        feed_conditions = plant.history(["CAf", "Tf"], 1)
        if len(feed_conditions) == 0:
            feed_conditions = np.array([[plant.config.feed_concentration_mol_L, plant.config.feed_temperature_K]])
        applied_now = np.concatenate([plant.setpoints_, plant.feed_requests_, feed_conditions[-1]])
        if len(past_states) < w - 1:  # too little history yet: repeat the present
            pad = w - 1 - len(past_states)
            past_states = np.vstack([np.tile(current, (pad, 1)), past_states])
            past_inputs = np.vstack([np.tile(applied_now, (pad, 1)), past_inputs])
        return np.vstack([past_states, current]), past_inputs, feed_conditions[-1]

    def predict(self, setpoints: np.ndarray, feeds: np.ndarray, horizon: int) -> tuple[np.ndarray, ...]:
        plant, n, w = self.plant, self.plant.n, self.learner.window_
        history, past_inputs, feed_now = self.context()
        p = len(setpoints)
        sp_path = ramp_profile(plant.setpoints_, setpoints, plant.setpoint_ramp_K_min * plant.sample_min, horizon)
        feed_path = ramp_profile(plant.feed_requests_, feeds, plant.feed_ramp_L_min2 * plant.sample_min, horizon)
        future = np.concatenate([sp_path, feed_path, np.broadcast_to(feed_now, (p, horizon, 2))], axis=2)
        inputs = np.concatenate([np.broadcast_to(past_inputs, (p, w - 1, past_inputs.shape[1])), future], axis=1)
        states = np.broadcast_to(history, (p, *history.shape))
        predicted = self.learner.rollout(states, inputs, horizon) - self.offset()
        return predicted[..., 2 * n : 3 * n], predicted[..., n : 2 * n], predicted[..., 3 * n :]


class EconomicOptimizer:
    """Cross-entropy search over setpoints and feeds on any predictor (see module docstring)."""

    def __init__(self, config: NetworkConfig, predictor, settings: PlannerSettings | None = None):
        self.config = config
        self.model = NetworkModel(config)
        self.predictor = predictor
        self.settings = settings or PlannerSettings()
        self.name = predictor.name
        s = self.settings
        n, n_feeds = config.n_reactors, config.n_feeds
        t_max = config.max_temperature_K
        self.lower = np.concatenate(
            [np.full(n, t_max - s.setpoint_window_K[0]), np.full(n_feeds, config.feed_bounds_L_min[0])]
        )
        self.upper = np.concatenate(
            [np.full(n, t_max - s.setpoint_window_K[1]), np.full(n_feeds, config.feed_bounds_L_min[1])]
        )
        self.rng = np.random.default_rng(s.random_state)
        self.plan_: np.ndarray | None = None
        self.last_objective_: float = np.nan
        self.held_decisions_ = 0  # decisions in which the trust limit held a feed back

    def objective(self, plans: np.ndarray) -> np.ndarray:
        s, n = self.settings, self.config.n_reactors
        setpoints, feeds = plans[:, :n], plans[:, n:]
        temps, cbs, coolant = self.predictor.predict(setpoints, feeds, s.horizon_min)
        plant = self.predictor.plant
        feed_path = ramp_profile(plant.feed_requests_, feeds, plant.feed_ramp_L_min2 * plant.sample_min, s.horizon_min)
        tensors = (torch.as_tensor(np.asarray(a, dtype=float)) for a in (plans, temps, cbs, coolant, feed_path))
        return self.plan_value(*tensors).numpy()

    def plan_value(self, plans, temps, cbs, coolant, feed_path) -> torch.Tensor:
        """The objective of plans ``(P, n + n_feeds)`` from their predicted paths ``(P, horizon, ·)``, in torch.

        Written once for both searches: the cross-entropy method evaluates it,
        the shooting planner differentiates it.
        """
        s, n, model = self.settings, self.config.n_reactors, self.model
        like = {"dtype": plans.dtype}
        outflow = (
            feed_path @ torch.as_tensor(model.flow_gain.T, **like) * torch.as_tensor(model.product_fraction, **like)
        )
        kg_h = self.config.product_molar_mass_g_mol * 60.0 / 1000.0
        production = (outflow * cbs).sum(dim=-1).mean(dim=1) * kg_h
        hot = limit_barrier(self.config.max_temperature_K - s.temperature_margin_K - temps, s.barrier_width_K)
        cold = limit_barrier(coolant - self.config.coolant_bounds_K[0] - s.coolant_headroom_K, s.barrier_width_K)
        span = torch.as_tensor(self.upper - self.lower, **like)
        move = (((plans - torch.as_tensor(self.plan_, **like)) / span) ** 2).sum(dim=1)
        change = plans[:, :n] - torch.as_tensor(self.predictor.plant.setpoints_, **like)
        unsteady = temps.var(dim=1, correction=0).mean(dim=1) + (change**2).mean(dim=1)
        return (
            production
            - s.barrier_weight_kg_h * hot.sum(dim=2).mean(dim=1)
            - s.coolant_weight_kg_h * cold.sum(dim=2).mean(dim=1)
            - s.move_weight_kg_h * move
            - s.steadiness_weight_kg_h_K2 * unsteady
        )

    def move_bounds(self, current_setpoints: np.ndarray, current_feeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of this decision: the window, narrowed around the present plan by the per-decision move limits.

        Move blocking: small, rare setpoint moves are what keeps a plant's
        temperatures steady; with a setpoint limit of 0 the PI loops hold the
        temperatures and the optimiser moves only the feeds.
        """
        s, n = self.settings, self.config.n_reactors
        current = np.concatenate([current_setpoints, current_feeds])
        step = np.full(len(current), np.inf)
        if s.max_setpoint_move_K is not None:
            step[:n] = s.max_setpoint_move_K
        if s.max_feed_move_L_min is not None:
            step[n:] = s.max_feed_move_L_min
        lower = np.minimum(np.maximum(self.lower, current - step), self.upper)
        upper = np.minimum(self.upper, current + step)
        frozen = self.frozen_feeds()
        upper[n:] = np.where(frozen, np.minimum(upper[n:], current[n:]), upper[n:])
        self.held_decisions_ += int(frozen.any())
        return lower, np.maximum(upper, lower)

    def frozen_feeds(self) -> np.ndarray:
        """Feeds that may not rise: they reach a reactor whose coolant command the learned model has missed by more
        than `trust_limit_K` over the offset window.

        There the loop is somewhere the model has not learned (a coolant command clipped at its floor through a
        cooling failure), its forecasts do not tell a safe feed from an unsafe one, and only a lower feed is safe.
        """
        limit, n = self.settings.trust_limit_K, self.config.n_reactors
        offset = getattr(self.predictor, "offset", None)
        if limit is None or offset is None:
            return np.zeros(self.config.n_feeds, dtype=bool)
        missed = np.abs(offset()[3 * n :]) > limit
        return (self.model.flow_gain[missed] > 1e-12).any(axis=0)

    def decide(self, current_setpoints: np.ndarray, current_feeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s, n = self.settings, self.config.n_reactors
        if self.plan_ is None:
            self.plan_ = np.clip(np.concatenate([current_setpoints, current_feeds]), self.lower, self.upper)
        lower, upper = self.move_bounds(current_setpoints, current_feeds)
        span = self.upper - self.lower
        mean, sd = np.clip(self.plan_, lower, upper), 0.15 * span
        n_elite = max(2, round(s.elite_fraction * s.population))
        best_plan, best_value = mean.copy(), -np.inf
        for _ in range(s.iterations):
            plans = np.clip(mean + sd * self.rng.standard_normal((s.population, len(mean))), lower, upper)
            plans[0] = mean  # keep the current belief in the running
            values = np.nan_to_num(self.objective(plans), nan=-np.inf)
            order = np.argsort(values)[::-1]
            if values[order[0]] > best_value:
                best_value, best_plan = float(values[order[0]]), plans[order[0]].copy()
            elite = plans[order[:n_elite]]
            mean, sd = elite.mean(axis=0), np.maximum(elite.std(axis=0), 0.01 * span)
        self.plan_ = best_plan
        self.last_objective_ = best_value
        return best_plan[:n], best_plan[n:]


def ramp_tensor(current: np.ndarray, target: torch.Tensor, max_change: float, steps: int) -> torch.Tensor:
    """`ramp_profile` in torch, differentiable in ``target`` ``(P, d)``."""
    k = torch.arange(1, steps + 1, dtype=target.dtype)[:, None]
    start = torch.as_tensor(current, dtype=target.dtype)
    delta = (target - start)[:, None, :]
    return start + torch.maximum(torch.minimum(delta, max_change * k), -max_change * k)


@cache
def _load_optimizer_code() -> None:
    """One Adam step on a scalar: a process's first optimiser step loads torch's compiler stack (about 1 s)."""
    x = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([x])
    x.sum().backward()
    optimizer.step()


class ShootingPlanner(EconomicOptimizer):
    """Gradient-based single-shooting MPC on a differentiable learned model.

    The plan (target setpoints and feeds, bounded through a sigmoid) is
    rolled out through the plant's ramps and the learned network with
    autograd, and Adam climbs the same objective as the cross-entropy search
    (production, temperature and coolant barriers, move and steadiness
    terms) from the current plan and ``starts - 1`` random plans in one
    batch; the best plan seen wins. The predictor's offset correction
    applies as in the search.
    """

    def __init__(
        self,
        config: NetworkConfig,
        predictor: LearnedModelPredictor,
        settings: PlannerSettings | None = None,
        steps: int = 15,
        starts: int = 4,
        learning_rate: float = 0.3,
    ):
        super().__init__(config, predictor, settings)
        self.name = "learned_shooting"
        self.steps, self.starts, self.learning_rate = steps, starts, learning_rate
        _load_optimizer_code()  # at start-up, not in the first decision

    def decide(self, current_setpoints: np.ndarray, current_feeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s, n = self.settings, self.config.n_reactors
        if self.plan_ is None:
            self.plan_ = np.clip(np.concatenate([current_setpoints, current_feeds]), self.lower, self.upper)
        plant, learner = self.predictor.plant, self.predictor.learner
        history, past_inputs, feed_now = self.predictor.context()
        low, high = self.move_bounds(current_setpoints, current_feeds)
        span = high - low
        fraction = np.vstack(
            [(self.plan_ - low) / np.maximum(span, 1e-9), self.rng.uniform(0.1, 0.9, (self.starts - 1, len(span)))]
        )
        theta = torch.logit(torch.as_tensor(np.clip(fraction, 0.02, 0.98), dtype=torch.float32)).requires_grad_(True)
        optimizer = torch.optim.Adam([theta], lr=self.learning_rate)
        lower, width = (torch.as_tensor(v, dtype=torch.float32) for v in (low, span))
        states = np.broadcast_to(history, (self.starts, *history.shape))
        past = torch.as_tensor(past_inputs, dtype=torch.float32).expand(self.starts, *past_inputs.shape)
        conditions = torch.as_tensor(feed_now, dtype=torch.float32).expand(self.starts, s.horizon_min, 2)
        offset = torch.as_tensor(self.predictor.offset(), dtype=torch.float32)
        best_value, best_plan = -np.inf, self.plan_.copy()
        for step in range(self.steps + 1):
            plans = lower + width * torch.sigmoid(theta)
            sp_path = ramp_tensor(
                plant.setpoints_, plans[:, :n], plant.setpoint_ramp_K_min * plant.sample_min, s.horizon_min
            )
            feed_path = ramp_tensor(
                plant.feed_requests_, plans[:, n:], plant.feed_ramp_L_min2 * plant.sample_min, s.horizon_min
            )
            inputs = torch.cat([past, torch.cat([sp_path, feed_path, conditions], dim=2)], dim=1)
            predicted = learner.rollout_tensor(states, inputs, s.horizon_min) - offset
            values = self.plan_value(
                plans, predicted[..., 2 * n : 3 * n], predicted[..., n : 2 * n], predicted[..., 3 * n :], feed_path
            )
            scores = values.detach().numpy()
            top = int(np.argmax(scores))
            if scores[top] > best_value:
                best_value, best_plan = float(scores[top]), plans[top].detach().numpy().astype(float)
            if step == self.steps:
                break
            optimizer.zero_grad()
            (-values.sum()).backward()
            optimizer.step()
        self.plan_ = np.clip(best_plan, low, high)
        self.last_objective_ = best_value
        return self.plan_[:n], self.plan_[n:]
