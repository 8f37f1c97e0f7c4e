"""Reactor-network workflow: a 10-CSTR simulator, learned dynamics, and economic optimisation against PI control.

Data flow: `generate_operating_data` (true `Plant`) -> `split_chronological`
-> `DynamicsLearner.fit` (lstm | lagrangian | node) -> `model_report` ->
`compare_controllers` (pid, the PI baseline | learned | oracle, against `scenario_optimum`) -> `summary_table`.
"""

from core.reactors.closed_loop import CONTROLLERS, ClosedLoopRun, compare_controllers, summary_table
from core.reactors.control import ClosedLoopModel, PIConfig, SafetyFilter, is_operable
from core.reactors.dataset import (
    OperatingData,
    ReactorDataError,
    load_operating_data,
    save_operating_data,
    split_chronological,
)
from core.reactors.disturbances import Disturbance, DisturbanceSchedule
from core.reactors.dynamics_models import MODEL_KINDS
from core.reactors.integrator import StiffIntegrator
from core.reactors.lagrangian import euler_lagrange_acceleration
from core.reactors.learning import OPTIMIZERS, DynamicsLearner
from core.reactors.metrics import performance
from core.reactors.model_evaluation import model_caveats, model_report, one_step_errors, rollout_errors
from core.reactors.network import NetworkConfig, NetworkModel, series_parallel, single_reactor
from core.reactors.optimizers import HypergradientAdam, PolicyGradientController
from core.reactors.optimum import (
    NetworkOptimum,
    SteadyStateProgram,
    SteadyStateTracker,
    VerifiedTracker,
    scenario_optimum,
)
from core.reactors.planning import EconomicOptimizer, PlannerSettings, barrier_penalty
from core.reactors.plant import Plant, SensorNoise
from core.reactors.scenarios import default_pi, evaluation_scenarios, generate_operating_data, rule_based_setpoints
from core.reactors.steady_state import best_steady_state, network_steady_state, single_reactor_steady_states
from core.reactors.tuning import tune_pi

__all__ = [
    "CONTROLLERS",
    "MODEL_KINDS",
    "OPTIMIZERS",
    "ClosedLoopModel",
    "ClosedLoopRun",
    "Disturbance",
    "DisturbanceSchedule",
    "DynamicsLearner",
    "EconomicOptimizer",
    "HypergradientAdam",
    "NetworkConfig",
    "NetworkModel",
    "NetworkOptimum",
    "OperatingData",
    "PIConfig",
    "PlannerSettings",
    "Plant",
    "PolicyGradientController",
    "ReactorDataError",
    "SafetyFilter",
    "SensorNoise",
    "SteadyStateProgram",
    "SteadyStateTracker",
    "StiffIntegrator",
    "VerifiedTracker",
    "barrier_penalty",
    "best_steady_state",
    "compare_controllers",
    "default_pi",
    "euler_lagrange_acceleration",
    "evaluation_scenarios",
    "generate_operating_data",
    "is_operable",
    "load_operating_data",
    "model_caveats",
    "model_report",
    "network_steady_state",
    "one_step_errors",
    "performance",
    "rollout_errors",
    "rule_based_setpoints",
    "save_operating_data",
    "scenario_optimum",
    "series_parallel",
    "single_reactor",
    "single_reactor_steady_states",
    "split_chronological",
    "summary_table",
    "tune_pi",
]
