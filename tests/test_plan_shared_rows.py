"""The shared-rows posterior is the model list's own, computed once over the batch's distinct rows."""

from __future__ import annotations

import pytest
import torch
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.models import ModelListGP, MultiTaskGP, SingleTaskGP
from botorch.sampling import SobolQMCNormalSampler

from core.plan.propose import skip_fused_kernel
from core.plan.shared_rows import SharedRowsModel


@pytest.fixture(scope="module")
def model_list() -> ModelListGP:
    """A single-task GP and a two-task GP predicting its first task (the planner's two kinds), untrained."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(12, 3, generator=g, dtype=torch.double)
    y = torch.sin(4 * X).sum(-1, keepdim=True)
    X_sim = torch.rand(20, 3, generator=g, dtype=torch.double)
    task = torch.cat([torch.zeros(12, 1), torch.ones(20, 1)]).double()
    two_task = MultiTaskGP(
        torch.cat([torch.cat([X, X_sim]), task], -1),
        torch.cat([y, torch.cos(3 * X_sim).sum(-1, keepdim=True)]),
        task_feature=3,
        output_tasks=[0],
    )
    return ModelListGP(SingleTaskGP(X, -y), two_task).eval()


def batch(n_candidates: int, shared: torch.Tensor) -> torch.Tensor:
    """Candidates, each after the same `shared` rows: (n_candidates, len(shared) + 1, d)."""
    x = torch.rand(n_candidates, 1, shared.shape[-1], generator=torch.Generator().manual_seed(1), dtype=torch.double)
    return torch.cat([shared.expand(n_candidates, -1, -1), x], dim=-2)


def test_a_batch_sharing_rows_gets_the_model_lists_posterior(model_list):
    shared = torch.rand(5, 3, generator=torch.Generator().manual_seed(2), dtype=torch.double)
    X = batch(40, shared)
    with torch.no_grad():
        own, gathered = model_list.posterior(X), SharedRowsModel(model_list).posterior(X)
    torch.testing.assert_close(gathered.mean, own.mean, rtol=0, atol=1e-9)
    torch.testing.assert_close(gathered.variance, own.variance, rtol=0, atol=1e-9)
    own_cov = own.distribution.covariance_matrix
    torch.testing.assert_close(gathered.distribution.covariance_matrix, own_cov, rtol=0, atol=1e-9)


def test_rows_without_a_batch_take_the_model_lists_own_path(model_list):
    X = torch.rand(6, 3, generator=torch.Generator().manual_seed(3), dtype=torch.double)
    with torch.no_grad():
        own, passed = model_list.posterior(X), SharedRowsModel(model_list).posterior(X)
    torch.testing.assert_close(passed.mean, own.mean, rtol=0, atol=0)
    assert SharedRowsModel(model_list).num_outputs == model_list.num_outputs == 2


def test_the_acquisition_on_shared_rows_scores_candidates_as_on_the_model_list(model_list):
    skip_fused_kernel()
    baseline = model_list.models[0].train_inputs[0]

    def acquisition(model):
        acq = qLogNoisyExpectedHypervolumeImprovement(
            model,
            ref_point=[-3.0, -3.0],
            X_baseline=baseline,
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([32]), seed=0),
        )
        acq.set_X_pending(baseline[:2] + 0.05)
        return acq

    X = torch.rand(30, 1, 3, generator=torch.Generator().manual_seed(4), dtype=torch.double)
    with torch.no_grad():
        own, shared = acquisition(model_list)(X), acquisition(SharedRowsModel(model_list))(X)
    assert torch.isfinite(own).all() and own.std() > 0.1
    torch.testing.assert_close(shared, own, rtol=0, atol=1e-6)


def test_a_posterior_of_another_shape_takes_the_model_lists_own_path(model_list):
    one_output = ModelListGP(model_list.models[0])  # a plain normal, not a block-diagonal one per output
    X = batch(8, torch.rand(3, 3, generator=torch.Generator().manual_seed(5), dtype=torch.double))
    with torch.no_grad():
        own, passed = one_output.posterior(X), SharedRowsModel(one_output).posterior(X)
    torch.testing.assert_close(passed.mean, own.mean, rtol=0, atol=0)
    torch.testing.assert_close(passed.variance, own.variance, rtol=0, atol=0)
