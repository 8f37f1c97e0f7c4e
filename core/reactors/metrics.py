"""Plant-level performance of a closed-loop run, computed from the true simulator's state.

- throughput_kg_h: mean production of B leaving the network;
- capacity_pct: throughput relative to the most the feed pumps allow
  (maximum feed of every train at the nominal feed concentration, full
  conversion);
- utilization_pct: share of reactor-minutes in productive operation, i.e.
  within the temperature limit and converting at least 1 % of the network's
  fresh A feed (the seed's "operating reactors over total reactors");
- stability_sd: standard deviation of reactor temperature (K), averaged over
  reactors; throughput_sd_kg_h: standard deviation of production;
- violations: reactor-minutes above the temperature limit; max_temperature_K.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.reactors.network import NetworkConfig, NetworkModel
from core.reactors.planning import production_rate_kg_h

ACTIVE_SHARE = 0.01


def production_series(config: NetworkConfig, record: pd.DataFrame) -> np.ndarray:
    n = config.n_reactors
    model = NetworkModel(config)
    cb = record[[f"true_CB_{i + 1}" for i in range(n)]].to_numpy()
    feeds = record[config.feed_names()].to_numpy()
    return production_rate_kg_h(model, cb, feeds)


def performance(config: NetworkConfig, record: pd.DataFrame) -> dict:
    """The metrics above for a logged run (see `core.reactors.plant` for the columns)."""
    n = config.n_reactors
    model = NetworkModel(config)
    production = production_series(config, record)
    temps = record[[f"true_T_{i + 1}" for i in range(n)]].to_numpy()
    ca = record[[f"true_CA_{i + 1}" for i in range(n)]].to_numpy()
    k0_factor = record[[f"k0_factor_{i + 1}" for i in range(n)]].to_numpy()
    feeds = record[config.feed_names()].to_numpy()
    reaction = model.rate_constant(temps, k0_factor) * ca * model.volume  # mol/min per reactor
    fresh_a = feeds.sum(axis=1) * record["CAf"].to_numpy()
    active = (reaction >= ACTIVE_SHARE * fresh_a[:, None]) & (temps <= config.max_temperature_K)
    capacity = (
        config.n_feeds
        * config.feed_bounds_L_min[1]
        * config.feed_concentration_mol_L
        * config.product_molar_mass_g_mol
        * 60.0
        / 1000.0
    )
    return {
        "throughput_kg_h": float(production.mean()),
        "capacity_pct": float(100.0 * production.mean() / capacity),
        "utilization_pct": float(100.0 * active.mean()),
        "stability_sd": float(temps.std(axis=0).mean()),
        "throughput_sd_kg_h": float(production.std()),
        "violations": int((temps > config.max_temperature_K).sum()),
        "max_temperature_K": float(temps.max()),
        "mean_feed_L_min": float(feeds.sum(axis=1).mean()),
    }
