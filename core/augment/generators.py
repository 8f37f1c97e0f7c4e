"""Synthetic DoE rows: SDV Gaussian copula, CTGAN and TVAE on the feasible-by-construction encoding.

`SyntheticGenerator(kind, params, random_state).fit(frame).sample(n)` returns
DoE rows (inputs + one CQA) that are all feasible profiles (see `encoding`).
Fitting and sampling are seeded: the torch and NumPy global generators that
CTGAN/TVAE draw from are seeded inside a context and restored afterwards, so
calling code keeps its own random state.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
from threadpoolctl import threadpool_limits

from core.augment.encoding import N_SETPOINTS, ProfileEncoding
from core.augment.quality import quality_score
from core.profiles import TABLE2_BOUNDS, Bounds

TABLE = "doe"
N_QUALITY_ROWS = 200
SAMPLE_BLOCK = 100  # rows per synthesizer call; see SyntheticGenerator.sample


@dataclass(frozen=True)
class GeneratorKind:
    """One SDV synthesizer: its defaults (fast enough for the 60 s study) and its tuning grid.

    CTGAN and TVAE stop at 25 epochs: on DoE-sized data (~25 rows) SDV's quality score of their samples
    is no better after 50 or 100 epochs (bench/bench_augment.py prints the score by epoch count)."""

    name: str
    label: str
    synthesizer: type
    defaults: Mapping[str, Any]
    grid: tuple[Mapping[str, Any], ...]


GENERATORS: dict[str, GeneratorKind] = {
    g.name: g
    for g in (
        GeneratorKind(
            "gaussian_copula",
            "Gaussian copula",
            GaussianCopulaSynthesizer,
            {"default_distribution": "truncnorm"},
            ({"default_distribution": "truncnorm"}, {"default_distribution": "norm"}, {"default_distribution": "beta"}),
        ),
        GeneratorKind(
            "ctgan",
            "CTGAN",
            CTGANSynthesizer,
            {"epochs": 25, "batch_size": 100, "generator_dim": [64, 64], "discriminator_dim": [64, 64]},
            (
                {"epochs": 25, "batch_size": 100, "generator_dim": [64, 64], "discriminator_dim": [64, 64]},
                {"epochs": 50, "batch_size": 100, "generator_dim": [64, 64], "discriminator_dim": [64, 64]},
                {"epochs": 25, "batch_size": 100, "generator_dim": [128, 128], "discriminator_dim": [128, 128]},
            ),
        ),
        GeneratorKind(
            "tvae",
            "TVAE (variational autoencoder)",
            TVAESynthesizer,
            {"epochs": 25, "batch_size": 100, "compress_dims": [64, 64], "decompress_dims": [64, 64]},
            (
                {"epochs": 25, "batch_size": 100, "compress_dims": [64, 64], "decompress_dims": [64, 64]},
                {"epochs": 50, "batch_size": 100, "compress_dims": [64, 64], "decompress_dims": [64, 64]},
                {"epochs": 25, "batch_size": 100, "compress_dims": [128, 128], "decompress_dims": [128, 128]},
            ),
        ),
    )
}


def generator_kind(name: str) -> GeneratorKind:
    try:
        return GENERATORS[name]
    except KeyError:
        raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS)}") from None


@contextlib.contextmanager
def seeded(random_state: int) -> Iterator[None]:
    """Seed NumPy's and torch's global generators for a block, then restore them.

    One torch and one BLAS thread: a generator then gives the same rows in the
    main process and in a worker (multi-threaded BLAS sums in another order)."""
    np_state, threads = np.random.get_state(), torch.get_num_threads()
    with torch.random.fork_rng(devices=[]), threadpool_limits(limits=1, user_api="blas"):
        torch.manual_seed(random_state)
        np.random.seed(random_state % 2**32)
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
            np.random.set_state(np_state)


def _metadata(latent: pd.DataFrame) -> Metadata:
    columns = {c: {"sdtype": "categorical" if c == N_SETPOINTS else "numerical"} for c in latent.columns}
    return Metadata.load_from_dict({"tables": {TABLE: {"columns": columns}}})


def _sdv_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """JSON lists back to the tuples SDV expects for layer sizes."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


class SyntheticGenerator:
    """A seeded SDV synthesizer over one CQA's DoE rows; every sample is a feasible profile."""

    def __init__(
        self,
        kind: str = "gaussian_copula",
        params: Mapping[str, Any] | None = None,
        random_state: int = 0,
        bounds: Bounds = TABLE2_BOUNDS,
        scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.kind = kind
        self.params = params
        self.random_state = random_state
        self.bounds = bounds
        self.scalar_bounds = scalar_bounds

    def fit(self, X: pd.DataFrame, y: pd.Series) -> SyntheticGenerator:
        """X: model inputs (column names are the input names); y: the CQA (its name is kept)."""
        spec = generator_kind(self.kind)
        frame = X.assign(**{str(y.name): y.to_numpy(float)})
        self.encoding_ = ProfileEncoding(list(X.columns), str(y.name), self.bounds, self.scalar_bounds).fit(frame)
        latent = self.encoding_.encode(frame)
        params = {**spec.defaults, **(self.params or {})}
        if self.kind != "gaussian_copula":
            params["enable_gpu"] = False
        with warnings.catch_warnings(), seeded(self.random_state):
            warnings.simplefilter("ignore")
            self.synthesizer_ = spec.synthesizer(_metadata(latent), enforce_rounding=False, **_sdv_params(params))
            self.synthesizer_.fit({TABLE: latent})
        return self

    def sample(self, n_rows: int) -> pd.DataFrame:
        """The same rows for the same seed, and smaller samples are prefixes of larger ones.

        Rows are drawn in fixed blocks because some synthesizers (TVAE) draw
        their noise column by column, so one call for n rows is not a prefix
        of one call for more.
        """
        blocks = []
        with warnings.catch_warnings(), seeded(self.random_state):
            warnings.simplefilter("ignore")
            self.synthesizer_.reset_sampling()
            self.synthesizer_._set_random_state(self.random_state)
            for _ in range(-(-n_rows // SAMPLE_BLOCK)):
                blocks.append(self.synthesizer_.sample(SAMPLE_BLOCK)[TABLE])
        return self.encoding_.decode(pd.concat(blocks, ignore_index=True).iloc[:n_rows] if blocks else pd.DataFrame())


@dataclass(frozen=True)
class TuningOutcome:
    """The best configuration of one generator and the quality score of every configuration tried."""

    kind: str
    params: dict[str, Any]
    score: float
    tried: list[dict[str, Any]]  # {"params": ..., "score": ...}


def tune_generator(
    kind: str,
    X: pd.DataFrame,
    y: pd.Series,
    grid: Sequence[Mapping[str, Any]] | None = None,
    random_state: int = 0,
    scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
) -> TuningOutcome:
    """Fit each configuration on (X, y) and keep the one whose samples score highest (first among equals)."""
    real = X.assign(**{str(y.name): y.to_numpy(float)})
    tried = []
    for params in grid if grid is not None else generator_kind(kind).grid:
        gen = SyntheticGenerator(kind, dict(params), random_state, scalar_bounds=scalar_bounds).fit(X, y)
        tried.append({"params": dict(params), "score": quality_score(real, gen.sample(N_QUALITY_ROWS))})
    best = max(tried, key=lambda t: t["score"])
    return TuningOutcome(kind, best["params"], best["score"], tried)
