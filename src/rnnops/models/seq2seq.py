"""Encoder-decoders with additive attention (Bahdanau et al. 2015): the forecaster below, and
TokenSeq2Seq (token_seq2seq.py) for token sequences, which decoding.py searches.

The encoder reads the lookback; at each horizon step t the decoder scores every encoder output
against its previous state,

    e_tj = vᵀ tanh(W_s s_{t-1} + W_h h_j),   α_t = softmax_j(e_t),   c_t = Σ_j α_tj h_j,

reads [y_{t-1}, c_t] and predicts y_t from [s_t, c_t]. In training, y_{t-1} is the true value with
probability teacher_forcing x teacher_forcing_decay^epoch per window and step (scheduled
sampling, Bengio et al. 2015), else the model's own previous forecast. The attention weights come
back as details["attention"], (B, H, L), for plotting.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.layers import RecurrentStack
from rnnops.models.registry import cell_class


class AdditiveAttention(nn.Module):
    """The score e_tj = vᵀ tanh(W_s s + W_h h_j) and its softmax over the encoder steps, for
    subclasses that call init_attention (the parameter names query, key and score are theirs)."""

    def init_attention(self, encoded: int, hidden: int, attention_size: int) -> None:
        attention_size = attention_size or hidden
        self.query = nn.Linear(hidden, attention_size, bias=False)
        self.key = nn.Linear(encoded, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def attend(self, s: torch.Tensor, keys: torch.Tensor, encoded: torch.Tensor):
        """Context (B, E) and weights (B, L) for decoder state s (B, hidden), keys = key(encoded)
        computed once for all decoder steps."""
        scores = self.score(torch.tanh(self.query(s).unsqueeze(1) + keys)).squeeze(-1)
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights.unsqueeze(1), encoded).squeeze(1), weights


class AttentionSeq2Seq(AdditiveAttention):
    def __init__(
        self,
        input_size: int,
        output_size: int,
        horizon: int,
        stack: dict,
        target_columns: list[int],
        attention_size: int = 0,
        teacher_forcing: float = 0.5,
        teacher_forcing_decay: float = 0.9,
        quantiles: int = 0,
        point: int = 0,
        future_size: int = 0,
    ):
        super().__init__()
        self.horizon, self.output_size = horizon, output_size
        # a quantile model's decoder emits every quantile and reads back the median (`point`)
        self.quantiles, self.point = quantiles, point
        self.target_columns = list(target_columns)
        self.teacher_forcing, self.decay, self.epoch = teacher_forcing, teacher_forcing_decay, 0
        self.encoder = RecurrentStack(input_size=input_size, **stack)
        encoded, hidden = self.encoder.output_size, stack["hidden_size"]
        # each step reads the last value, the context and that step's future covariates
        self.decoder = cell_class(stack["cell"])(output_size + encoded + future_size, hidden,
                                                 **(stack.get("cell_options") or {}))
        self.initial_query = nn.Linear(encoded, hidden)  # s_{-1} from the encoder's summary
        self.init_attention(encoded, hidden, attention_size)
        self.out = nn.Linear(hidden + encoded, output_size * max(quantiles, 1))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def teacher_forcing_ratio(self) -> float:
        return self.teacher_forcing * self.decay ** self.epoch

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None,
                future: torch.Tensor | None = None):
        encoded, _ = self.encoder(x)
        keys = self.key(encoded)  # W_h h_j once for all decoder steps
        s = torch.tanh(self.initial_query(self.encoder.summary(encoded)))
        previous = x[:, -1, self.target_columns]
        ratio = self.teacher_forcing_ratio() if self.training and target is not None else 0.0
        state, outputs, weights = None, [], []
        for t in range(self.horizon):
            context, alpha = self.attend(s, keys, encoded)
            step_in = torch.cat([previous, context, *(() if future is None else (future[:, t],))],
                                dim=-1).unsqueeze(1)
            y, state = self.decoder(step_in, state)
            s = y[:, 0]
            prediction = self.out(torch.cat([s, context], dim=-1))
            outputs.append(prediction)
            weights.append(alpha)
            if self.quantiles:
                prediction = prediction.view(-1, self.output_size, self.quantiles)[..., self.point]
            previous = prediction
            if ratio > 0:
                forced = torch.rand(x.shape[0], 1, device=x.device) < ratio
                previous = torch.where(forced, target[:, t], prediction)
        return torch.stack(outputs, dim=1), {"attention": torch.stack(weights, dim=1)}
