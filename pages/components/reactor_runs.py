"""The reactor screen's cached computations: keyed by the network as JSON and the settings, computed in core."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.reactors.analysis import closed_loop_scenario, train_learner
from core.reactors.control import PIConfig
from core.reactors.dataset import label_splits, split_chronological
from core.reactors.learning import DynamicsLearner
from core.reactors.model_evaluation import model_report
from core.reactors.network import NetworkConfig
from core.reactors.scenarios import default_pi, generate_operating_data


def network(config_json: str) -> NetworkConfig:
    return NetworkConfig.from_dict(json.loads(config_json))


@st.cache_data(show_spinner=False, max_entries=4)
def tuned_pi(config_json: str) -> dict:
    return default_pi(network(config_json)).to_dict()


@st.cache_data(show_spinner=False, max_entries=4)
def operating_data(config_json: str, hours: float, seed: int, _progress=None) -> tuple[pd.DataFrame, dict]:
    pi = PIConfig.from_dict(tuned_pi(config_json))
    frame, metadata = generate_operating_data(network(config_json), hours, random_state=seed, pi=pi, progress=_progress)
    return label_splits(frame), metadata


@st.cache_resource(show_spinner=False, max_entries=12)
def trained_model(
    config_json: str, hours: float, seed: int, kind: str, steps: int, optimizer: str, rollout: int, _progress=None
) -> DynamicsLearner:
    parts = split_chronological(operating_data(config_json, hours, seed)[0])
    return train_learner(parts, network(config_json), kind, steps, optimizer, rollout, seed, progress=_progress)


@st.cache_data(show_spinner=False, max_entries=12)
def accuracy(config_json: str, data_key: tuple, model_key: tuple) -> dict:
    test = split_chronological(operating_data(config_json, *data_key)[0])["test"]
    return model_report(trained_model(config_json, *data_key, *model_key), test, n_starts=8)


@st.cache_data(show_spinner=False, max_entries=8)
def closed_loop(
    config_json: str, data_key: tuple, model_key: tuple, hours: float, scenario: str, _progress=None
) -> tuple[dict, dict[str, pd.DataFrame], list[dict]]:
    pi, learner = PIConfig.from_dict(tuned_pi(config_json)), trained_model(config_json, *data_key, *model_key)
    return closed_loop_scenario(network(config_json), pi, learner, hours, scenario, progress=_progress)
