"""A GP model list whose batched posterior is computed once over the batch's distinct rows.

The acquisition (`core.plan.propose`) scores every candidate x jointly with the
baseline runs B and the pending runs P: a batch of posteriors over
(B, P, x), in which all rows but the last are the same for every candidate.
Computed batch by batch, the cross-covariances of B and P with the training
rows are recomputed once per candidate, which was most of the planner's
search time. Here the joint posterior is taken once over the distinct rows
and each candidate's mean and covariance blocks are gathered from it: the
same distribution, up to rounding.
"""

from __future__ import annotations

from typing import Any

import torch
from botorch.models import ModelListGP
from botorch.models.model import Model
from botorch.posteriors import GPyTorchPosterior, Posterior
from gpytorch.distributions import MultitaskMultivariateNormal
from linear_operator.operators import BlockDiagLinearOperator, DenseLinearOperator


class SharedRowsModel(Model):
    """`model`'s posterior, batched posteriors over independent outputs computed over their distinct rows."""

    def __init__(self, model: ModelListGP) -> None:
        super().__init__()
        self.model = model

    @property
    def num_outputs(self) -> int:
        return self.model.num_outputs

    @property
    def batch_shape(self) -> torch.Size:
        return self.model.batch_shape

    def posterior(
        self,
        X: torch.Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | torch.Tensor = False,
        posterior_transform: Any = None,
        **kwargs: Any,
    ) -> Posterior:
        plain = output_indices is None and observation_noise is False and posterior_transform is None and not kwargs
        if X.dim() < 3 or not plain:
            return self.model.posterior(X, output_indices, observation_noise, posterior_transform, **kwargs)
        rows, index = torch.unique(X.reshape(-1, X.shape[-1]), dim=0, return_inverse=True)
        index = index.reshape(X.shape[:-1])
        joint = self.model.posterior(rows).distribution
        if not _independent_outputs(joint):
            return self.model.posterior(X)
        blocks = joint.lazy_covariance_matrix.base_linear_op.to_dense()  # (outputs, distinct rows, distinct rows)
        covariance = blocks[:, index.unsqueeze(-1), index.unsqueeze(-2)].movedim(0, -3)  # (..., outputs, n, n)
        mvn = MultitaskMultivariateNormal(
            joint.mean[index],  # (..., n, outputs)
            BlockDiagLinearOperator(DenseLinearOperator(covariance), block_dim=-3),
            interleaved=False,
        )
        return GPyTorchPosterior(mvn)


def _independent_outputs(joint: Any) -> bool:
    """Whether a posterior is that of a model list's independent outputs: block-diagonal, output by output."""
    covariance = joint.lazy_covariance_matrix
    return (
        isinstance(joint, MultitaskMultivariateNormal)
        and not joint._interleaved  # gpytorch keeps the layout's flag private
        and isinstance(covariance, BlockDiagLinearOperator)
        and covariance.base_linear_op.dim() == 3
    )
