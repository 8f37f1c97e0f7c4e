"""Adapters from fitted models to the optimiser's prediction function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from core.doe.schema import Schema
from core.optimize.problem import DOMAIN, PredictFn, Predictions


class MeanStdPredictor(Protocol):
    """What `core.models.fitting.CQAPredictor` offers: (rows, CQAs) mean and std arrays in one call."""

    cqa_names: list[str]
    input_names: list[str]

    def predict(self, X: Any, return_std: bool = False) -> Any: ...


def cqa_limits(schema: Schema) -> dict[str, tuple[float, float]]:
    """What each CQA can physically be (e.g. DoA within 0-100 %)."""
    return {name: schema.variable(name).limits for name in schema.cqa_names}


def predict_fn(predictor: MeanStdPredictor, limits: Mapping[str, tuple[float, float]] | None = None) -> PredictFn:
    """One prediction call per population, split into per-CQA (mean, std), plus the domain score
    (`DOMAIN`) when the predictor has an applicability domain.

    Means are clipped to `limits`: a regression model extrapolating to a
    negative DoA would otherwise pull the search to designs it cannot have.
    """
    limits = dict(limits or {})

    domain = getattr(predictor, "domain", None)

    def predict(features: pd.DataFrame) -> Predictions:
        rows = features[predictor.input_names]
        mean, std = predictor.predict(rows, return_std=True)
        out = {}
        for j, name in enumerate(predictor.cqa_names):
            lo, hi = limits.get(name, (-np.inf, np.inf))
            out[name] = (np.clip(mean[:, j], lo, hi), std[:, j])
        if domain is not None:
            score = domain.score(rows)
            out[DOMAIN] = (score, score - domain.threshold)
        return out

    return predict
