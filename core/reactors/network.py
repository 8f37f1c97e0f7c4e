"""Jacketed CSTR network: parameters, topology and the mass and energy balances.

Every reactor carries the exothermic reaction A -> B with Arrhenius kinetics
(the textbook CSTR of Seborg et al.). Reactors are connected by a routing
matrix: ``routing[i, j]`` is the fraction of reactor i's outflow sent to
reactor j, and whatever is not routed leaves as product. Fresh feed enters at
a few feed points; each feed flow is a manipulated variable, and so is every
reactor's coolant temperature. Volumes are constant, so a reactor's outflow
equals its total inflow and all flows follow linearly from the feed flows.

The state of the network is stored in blocks, ``x = [CA_1..CA_n, CB_1..CB_n,
T_1..T_n]`` (mol/L, mol/L, K); time is in minutes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

STATE_KINDS = ("CA", "CB", "T")


@dataclass(frozen=True)
class NetworkConfig:
    """Parameters of the network; per-reactor tuples have one entry per reactor.

    Defaults are the textbook reactor (q = 100 L/min, V = 100 L, rho = 1000 g/L,
    Cp = 0.239 J/(g K), dH = -5e4 J/mol, E/R = 8750 K, k0 = 7.2e10 1/min,
    UA = 5e4 J/(min K), feed 350 K and 1 mol/L) arranged as two parallel trains
    of four reactors that merge into a tail of two; the merge reactors are
    twice as large so every reactor keeps the textbook residence time at the
    nominal feed.
    """

    routing: tuple[tuple[float, ...], ...]
    feed_split: tuple[tuple[float, ...], ...]  # feed point f -> fraction of its flow entering reactor i
    volume_L: tuple[float, ...]
    ua_J_min_K: tuple[float, ...]
    k0_per_min: tuple[float, ...]
    activation_temperature_K: float = 8750.0  # E/R
    reaction_enthalpy_J_mol: float = -5.0e4
    density_g_L: float = 1000.0
    heat_capacity_J_g_K: float = 0.239
    product_molar_mass_g_mol: float = 100.0
    feed_concentration_mol_L: float = 1.0
    feed_temperature_K: float = 350.0
    nominal_feed_L_min: tuple[float, ...] = (100.0, 100.0)
    feed_bounds_L_min: tuple[float, float] = (50.0, 200.0)
    coolant_bounds_K: tuple[float, float] = (280.0, 400.0)
    max_temperature_K: float = 400.0
    jacket_time_min: float = 0.05  # lag of the jacket behind the coolant supply temperature
    sensor_time_min: float = 0.02  # lag of the temperature measurement
    names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.volume_L)
        routing = np.asarray(self.routing, dtype=float)
        split = np.asarray(self.feed_split, dtype=float)
        problems = []
        if routing.shape != (n, n):
            problems.append(f"routing must be {n} x {n}, got {routing.shape}")
        elif (routing < 0).any() or (routing.sum(axis=1) > 1 + 1e-9).any():
            problems.append("each routing row must hold non-negative fractions that sum to at most 1")
        if split.ndim != 2 or split.shape[1] != n:
            problems.append(f"feed_split must have one row per feed point and {n} columns")
        elif (split < 0).any() or not np.allclose(split.sum(axis=1), 1.0):
            problems.append("each feed_split row must hold non-negative fractions that sum to 1")
        elif len(self.nominal_feed_L_min) != split.shape[0]:
            problems.append("nominal_feed_L_min needs one flow per feed point")
        lo, hi = self.feed_bounds_L_min
        for f, feed in enumerate(self.nominal_feed_L_min):
            if not lo <= feed <= hi:
                problems.append(
                    f"the nominal feed of feed point {f + 1} ({feed:.0f} L/min) is outside {lo:.0f}-{hi:.0f} L/min"
                )
        for label, values in (("ua_J_min_K", self.ua_J_min_K), ("k0_per_min", self.k0_per_min)):
            if len(values) != n:
                problems.append(f"{label} needs {n} values, one per reactor")
        if self.names and len(self.names) != n:
            problems.append(f"names needs {n} entries")
        if not problems and not np.isfinite(np.linalg.cond(np.eye(n) - routing.T)):
            problems.append("routing forms a closed loop with no outlet")
        if problems:
            raise ValueError("Invalid reactor network: " + "; ".join(problems) + ".")

    @property
    def n_reactors(self) -> int:
        return len(self.volume_L)

    @property
    def n_feeds(self) -> int:
        return len(self.feed_split)

    @property
    def reactor_names(self) -> list[str]:
        return list(self.names) if self.names else [f"R{i + 1}" for i in range(self.n_reactors)]

    def state_names(self) -> list[str]:
        return [f"{kind}_{i + 1}" for kind in STATE_KINDS for i in range(self.n_reactors)]

    def coolant_names(self) -> list[str]:
        return [f"Tc_{i + 1}" for i in range(self.n_reactors)]

    def feed_names(self) -> list[str]:
        return [f"F_{f + 1}" for f in range(self.n_feeds)]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NetworkConfig:
        tuples = {key: _as_tuple(value) for key, value in data.items()}
        return cls(**tuples)


def _as_tuple(value):
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    return value


def series_parallel(
    n_trains: int = 2,
    train_length: int = 4,
    tail_length: int = 2,
    feed_split: tuple[float, ...] | None = None,
    volume_L: float = 100.0,
    ua_J_min_K: float = 5.0e4,
    k0_per_min: float = 7.2e10,
    nominal_total_feed_L_min: float = 200.0,
    **overrides,
) -> NetworkConfig:
    """Parallel trains of CSTRs in series that merge into a common tail.

    Each train has its own feed point; ``feed_split`` shares the nominal total
    feed between the trains (equal by default). Tail reactors are scaled in
    volume and heat-transfer area by the number of trains so that they keep
    the residence time of a train reactor.
    """
    if n_trains < 1 or train_length < 1 or tail_length < 0:
        raise ValueError("A network needs at least one train with at least one reactor.")
    split = np.full(n_trains, 1.0 / n_trains) if feed_split is None else np.asarray(feed_split, dtype=float)
    if split.shape != (n_trains,) or (split < 0).any() or not np.isclose(split.sum(), 1.0):
        raise ValueError(f"feed_split needs {n_trains} non-negative fractions that sum to 1.")
    n = n_trains * train_length + tail_length
    routing = np.zeros((n, n))
    feeds = np.zeros((n_trains, n))
    first_tail = n_trains * train_length
    for t in range(n_trains):
        start = t * train_length
        feeds[t, start] = 1.0
        for k in range(train_length - 1):
            routing[start + k, start + k + 1] = 1.0
        if tail_length:
            routing[start + train_length - 1, first_tail] = 1.0
    for k in range(tail_length - 1):
        routing[first_tail + k, first_tail + k + 1] = 1.0
    scale = np.ones(n)
    scale[first_tail:] = n_trains
    return NetworkConfig(
        routing=tuple(map(tuple, routing)),
        feed_split=tuple(map(tuple, feeds)),
        volume_L=tuple(volume_L * scale),
        ua_J_min_K=tuple(ua_J_min_K * scale),
        k0_per_min=(k0_per_min,) * n,
        nominal_feed_L_min=tuple(nominal_total_feed_L_min * split),
        **overrides,
    )


def single_reactor(**overrides) -> NetworkConfig:
    """The textbook CSTR on its own (one feed point, q = 100 L/min)."""
    return series_parallel(n_trains=1, train_length=1, tail_length=0, nominal_total_feed_L_min=100.0, **overrides)


class NetworkModel:
    """Vectorised right-hand side and Jacobian of the network balances.

    Arrays may carry leading batch dimensions: states ``(..., 3n)``, coolant
    temperatures ``(..., n)``, feed flows ``(..., n_feeds)``. ``ua_factor`` and
    ``k0_factor`` (``(..., n)``) scale heat transfer and catalyst activity, which
    is how cooling failures and deactivation enter.
    """

    def __init__(self, config: NetworkConfig):
        self.config = config
        n = config.n_reactors
        self.n = n
        routing = np.asarray(config.routing, dtype=float)
        self.routing = routing
        self.feed_matrix = np.asarray(config.feed_split, dtype=float).T  # (n, n_feeds)
        # q = routing^T q + S F  =>  q = (I - routing^T)^-1 S F
        self.flow_gain = np.linalg.solve(np.eye(n) - routing.T, self.feed_matrix)
        self.product_fraction = 1.0 - routing.sum(axis=1)
        self.volume = np.asarray(config.volume_L, dtype=float)
        self.ua = np.asarray(config.ua_J_min_K, dtype=float)
        self.k0 = np.asarray(config.k0_per_min, dtype=float)
        rho_cp = config.density_g_L * config.heat_capacity_J_g_K
        self.heat_rise = -config.reaction_enthalpy_J_mol / rho_cp  # K L / mol
        self.rho_cp = rho_cp
        self.e_over_r = config.activation_temperature_K
        self.state_size = 3 * n
        if np.tril(routing).any():
            raise ValueError(
                "Invalid reactor network: number the reactors along the flow, so that each one "
                "sends its outflow only to higher-numbered reactors (no recycles)."
            )

    def flows(self, feeds: np.ndarray) -> np.ndarray:
        """Outflow of every reactor (L/min) for the given feed flows."""
        return np.asarray(feeds, dtype=float) @ self.flow_gain.T

    def product_flow(self, feeds: np.ndarray) -> np.ndarray:
        return self.flows(feeds) @ self.product_fraction

    def rate_constant(self, temperature: np.ndarray, k0_factor: np.ndarray | float = 1.0) -> np.ndarray:
        return self.k0 * k0_factor * np.exp(-self.e_over_r / temperature)

    def dynamics(self, coolant, feeds, feed_conc, feed_temp, ua_factor=1.0, k0_factor=1.0) -> FrozenInputs:
        """The balances with inputs held fixed, for repeated evaluation inside an integrator step."""
        return FrozenInputs(self, coolant, feeds, feed_conc, feed_temp, ua_factor, k0_factor)

    def rhs(self, x, coolant, feeds, feed_conc, feed_temp, ua_factor=1.0, k0_factor=1.0) -> np.ndarray:
        """Time derivative of the state (per minute)."""
        return self.dynamics(coolant, feeds, feed_conc, feed_temp, ua_factor, k0_factor).rhs(x)

    def jacobian(self, x, coolant, feeds, feed_conc, feed_temp, ua_factor=1.0, k0_factor=1.0) -> np.ndarray:
        """Analytic Jacobian d rhs / d x, shape ``(..., 3n, 3n)``."""
        return self.dynamics(coolant, feeds, feed_conc, feed_temp, ua_factor, k0_factor).jacobian(x)

    def balances(self, x, dxdt, coolant, feeds, feed_conc, feed_temp, ua_factor=1.0, k0_factor=1.0) -> dict:
        """Terms of the network-wide mole and energy balances at one instant.

        Returns accumulation and the in/out/generation terms so that closure can
        be checked: moles of A+B accumulate as fresh feed minus product, and
        sensible heat accumulates as feed minus product enthalpy plus reaction
        heat minus heat removed by the jackets.
        """
        n = self.n
        ca, cb, temp = x[..., :n], x[..., n : 2 * n], x[..., 2 * n :]
        feeds = np.asarray(feeds, dtype=float)
        q = self.flows(feeds)
        out = q * self.product_fraction
        total_feed = feeds.sum(axis=-1)
        rate = self.rate_constant(temp, k0_factor) * ca * self.volume
        return {
            "moles_accumulation": (self.volume * (dxdt[..., :n] + dxdt[..., n : 2 * n])).sum(axis=-1),
            "moles_in": total_feed * feed_conc,
            "moles_out": (out * (ca + cb)).sum(axis=-1),
            "energy_accumulation": self.rho_cp * (self.volume * dxdt[..., 2 * n :]).sum(axis=-1),
            "energy_in": self.rho_cp * total_feed * feed_temp,
            "energy_out": self.rho_cp * (out * temp).sum(axis=-1),
            "reaction_heat": -self.config.reaction_enthalpy_J_mol * rate.sum(axis=-1),
            "jacket_heat": (self.ua * ua_factor * (temp - coolant)).sum(axis=-1),
        }


class FrozenInputs:
    """Right-hand side and Jacobian of a `NetworkModel` at fixed inputs (flows precomputed).

    The Jacobian has a per-reactor block structure that the integrator
    exploits: `local_blocks` holds each reactor's 3 x 3 block, and reactors
    couple only through ``inflow[..., i, j]`` (flow from reactor j into i per
    unit volume), which acts identically on CA, CB and T.
    """

    coupled = 3

    def __init__(self, model: NetworkModel, coolant, feeds, feed_conc, feed_temp, ua_factor, k0_factor):
        self.model = model
        feeds = np.asarray(feeds, dtype=float)
        q = model.flows(feeds)
        self.inflow = model.routing.T * q[..., None, :] / model.volume[:, None]
        self.dilution = q / model.volume
        fresh = (feeds @ model.feed_matrix.T) / model.volume
        self.fresh_a = fresh * np.asarray(feed_conc, dtype=float)[..., None]
        self.fresh_h = fresh * np.asarray(feed_temp, dtype=float)[..., None]
        self.k0 = model.k0 * k0_factor
        self.gamma = model.ua * ua_factor / (model.volume * model.rho_cp)
        self.coolant = coolant

    def _mix(self, v: np.ndarray) -> np.ndarray:
        return (self.inflow @ v[..., None])[..., 0] - self.dilution * v

    def rhs(self, x: np.ndarray) -> np.ndarray:
        n = self.model.n
        ca, cb, temp = x[..., :n], x[..., n : 2 * n], x[..., 2 * n :]
        rate = self.k0 * np.exp(-self.model.e_over_r / temp) * ca
        dca = self._mix(ca) + self.fresh_a - rate
        dcb = self._mix(cb) + rate
        dtemp = self._mix(temp) + self.fresh_h + self.model.heat_rise * rate + self.gamma * (self.coolant - temp)
        return np.concatenate([dca, dcb, dtemp], axis=-1)

    def local_blocks(self, x: np.ndarray) -> np.ndarray:
        """d rhs_i / d x_i for every reactor i, shape ``(..., n, 3, 3)`` in the order (CA, CB, T)."""
        model, n = self.model, self.model.n
        ca, temp = x[..., :n], x[..., 2 * n :]
        k = self.k0 * np.exp(-model.e_over_r / temp)
        dk_ca = k * model.e_over_r / temp**2 * ca
        d = -np.broadcast_to(self.dilution, k.shape)
        zero = np.zeros_like(k)
        gamma = np.broadcast_to(self.gamma, k.shape)
        rows = [
            [d - k, zero, -dk_ca],
            [k, d, dk_ca],
            [model.heat_rise * k, zero, d + model.heat_rise * dk_ca - gamma],
        ]
        return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)

    def rhs_blocks(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.rhs(x), self.local_blocks(x)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        return assemble_jacobian(self.local_blocks(x), self.inflow, self.coupled)


def assemble_jacobian(local: np.ndarray, inflow: np.ndarray, coupled: int) -> np.ndarray:
    """Dense Jacobian (variable-major state layout) from per-reactor blocks and inter-reactor inflows."""
    *batch, n, k, _ = local.shape
    batch = np.broadcast_shapes(tuple(batch), inflow.shape[:-2])
    jac = np.zeros((*batch, k, n, k, n))
    idx = np.arange(n)
    jac[..., :, idx, :, idx] = np.moveaxis(np.broadcast_to(local, (*batch, n, k, k)), -3, 0)
    for v in range(coupled):
        jac[..., v, :, v, :] += inflow
    return jac.reshape(*batch, k * n, k * n)
