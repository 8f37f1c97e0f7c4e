"""Synthetic rows: feasible by construction for every generator, seeded, faithful encoding."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.augment.encoding import ProfileEncoding
from core.augment.generators import GENERATORS, SyntheticGenerator, tune_generator
from core.augment.quality import quality_score
from core.doe import Schema, load_doe
from core.models.datasets import ModelData
from core.profiles import ThermocycleProfile, check_features

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.csv"
FAST = {
    "gaussian_copula": {"default_distribution": "norm"},
    "ctgan": {"epochs": 3, "batch_size": 20, "generator_dim": [16], "discriminator_dim": [16]},
    "tvae": {"epochs": 3, "batch_size": 20, "compress_dims": [16], "decompress_dims": [16]},
}


@cache
def real() -> tuple[pd.DataFrame, pd.Series]:
    data = ModelData.from_doe(load_doe(SAMPLE).data)
    return data.inputs, data.cqas["D50"]


def fitted(kind: str, seed: int = 0) -> SyntheticGenerator:
    X, y = real()
    return SyntheticGenerator(kind, FAST[kind], seed, scalar_bounds=Schema.default().bounds).fit(X, y)


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_every_sample_is_a_feasible_profile_within_bounds(kind):
    rows = fitted(kind).sample(1000)
    bounds = Schema.default().bounds
    assert len(rows) == 1000
    assert not rows.isna().any().any()
    for rec in rows.to_dict("records"):
        assert check_features(rec) == []
        assert ThermocycleProfile.from_features(rec).violations() == []
        for name in ("initial_concentration", "seed_loading"):
            lo, hi = bounds[name]
            assert lo <= rec[name] <= hi
    # the generators do produce more than one profile shape
    n_temps = (rows[[f"T{i}" for i in range(1, 11)]] > 0).sum(axis=1)
    assert n_temps.nunique() > 1


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_same_seed_same_rows_and_prefixes_are_nested(kind):
    a, b = fitted(kind, 3).sample(40), fitted(kind, 3).sample(40)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(fitted(kind, 3).sample(10), a.iloc[:10])
    assert not fitted(kind, 4).sample(40).equals(a)


def test_generators_leave_the_callers_random_state_alone():
    np.random.seed(11)
    expected = np.random.random(3)
    np.random.seed(11)
    fitted("ctgan").sample(5)
    np.testing.assert_array_equal(np.random.random(3), expected)


def test_encoding_round_trips_the_real_rows():
    X, y = real()
    frame = X.assign(D50=y.to_numpy())
    enc = ProfileEncoding(list(X.columns), "D50").fit(frame)
    back = enc.decode(enc.encode(frame))
    np.testing.assert_allclose(back.to_numpy(float), frame.to_numpy(float), rtol=1e-9, atol=1e-9)


def sdmetrics_quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """SDV's own report, as `quality_score` reproduces it."""
    from sdv.evaluation import evaluate_quality
    from sdv.metadata import Metadata

    columns = [c for c in real.columns if real[c].nunique() > 1]
    metadata = Metadata.load_from_dict({"tables": {"doe": {"columns": {c: {"sdtype": "numerical"} for c in columns}}}})
    return evaluate_quality(real[columns], synthetic[columns], metadata, verbose=False).get_score()


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_quality_score_is_sdvs_report(kind):
    X, y = real()
    frame = X.assign(D50=y.to_numpy())
    synthetic = fitted(kind).sample(60)
    assert quality_score(frame, synthetic) == pytest.approx(sdmetrics_quality(frame, synthetic), abs=1e-12)
    odd = synthetic.assign(T1=3.0)  # a constant column: its pairs have no trend to score
    odd.loc[:9, "C1"] = np.nan
    assert quality_score(frame, odd) == pytest.approx(sdmetrics_quality(frame, odd), abs=1e-12)


def test_quality_score_prefers_real_like_rows_and_tuning_keeps_the_best():
    X, y = real()
    frame = X.assign(D50=y.to_numpy())
    shuffled = frame.apply(lambda c: np.random.default_rng(0).uniform(c.min(), c.max() + 1, len(c)))
    assert quality_score(frame, frame) > quality_score(frame, shuffled)
    outcome = tune_generator(
        "gaussian_copula", X, y, [{"default_distribution": "norm"}, {"default_distribution": "uniform"}]
    )
    assert [t["params"]["default_distribution"] for t in outcome.tried] == ["norm", "uniform"]
    assert outcome.score == max(t["score"] for t in outcome.tried)
    assert outcome.params in [t["params"] for t in outcome.tried if t["score"] == outcome.score]
