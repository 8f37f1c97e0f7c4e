"""Neural dynamics models of the reactor network.

All models map a window of scaled states ``(B, W, n_states)`` and inputs
``(B, W, n_inputs)`` (the last row is the current sample) to the scaled state
derivative at the current sample; the learner turns that into the next state.

- ``lstm``: the seed's recurrent dynamics network. A variable-attention gate
  weighs every state and input at every time step (the weights are what the
  app shows as "which variables matter"), an LSTM reads the window, and a
  temporal attention pools its hidden states.
- ``lagrangian``: Euler-Lagrange structure with Rayleigh dissipation
  (`core.reactors.lagrangian`).
- ``node``: a plain MLP right-hand side, a neural ODE stepped at the sampling
  interval; the baseline.
"""

from __future__ import annotations

import torch
from torch import nn

from core.reactors.lagrangian import LagrangianDynamicsNet

MODEL_KINDS = ("lstm", "lagrangian", "node")


class AttentionLSTMNet(nn.Module):
    def __init__(self, n_states: int, n_inputs: int, hidden: int = 64, window: int = 8):
        super().__init__()
        n_vars = n_states + n_inputs
        self.window = window
        self.gate = nn.Sequential(nn.Linear(n_vars, hidden), nn.Tanh(), nn.Linear(hidden, n_vars))
        self.lstm = nn.LSTM(n_vars, hidden, batch_first=True)
        self.score_hidden = nn.Linear(hidden, hidden, bias=False)
        self.score_last = nn.Linear(hidden, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)
        self.head = nn.Sequential(nn.Linear(2 * hidden + n_vars, hidden), nn.SiLU(), nn.Linear(hidden, n_states))

    def attention(self, states: torch.Tensor, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hidden summary plus variable weights ``(B, W, n_vars)`` and time weights ``(B, W)``."""
        v = torch.cat([states, inputs], dim=-1)
        variable_weights = torch.softmax(self.gate(v), dim=-1)
        hidden, _ = self.lstm(v * variable_weights * v.shape[-1])
        last = hidden[:, -1]
        scores = self.score(torch.tanh(self.score_hidden(hidden) + self.score_last(last).unsqueeze(1))).squeeze(-1)
        time_weights = torch.softmax(scores, dim=-1)
        context = (time_weights.unsqueeze(-1) * hidden).sum(dim=1)
        return torch.cat([context, last, v[:, -1]], dim=-1), variable_weights, time_weights

    def forward(self, states: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        summary, _, _ = self.attention(states, inputs)
        return self.head(summary)


class NeuralODENet(nn.Module):
    window = 1

    def __init__(self, n_states: int, n_inputs: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_states + n_inputs, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, n_states),
        )

    def forward(self, states: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([states[:, -1], inputs[:, -1]], dim=-1))


def build_dynamics_net(kind: str, n_states: int, n_inputs: int, hidden: int, window: int) -> nn.Module:
    if kind == "lstm":
        return AttentionLSTMNet(n_states, n_inputs, hidden, window)
    if kind == "lagrangian":
        return LagrangianDynamicsNet(n_states, n_inputs, hidden)
    if kind == "node":
        return NeuralODENet(n_states, n_inputs, 2 * hidden)
    raise ValueError(f"Unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
