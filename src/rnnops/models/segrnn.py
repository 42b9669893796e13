"""Segment recurrence (SegRNN, Lin et al. 2023): the lookback is cut into segments of w steps,
each segment embedded by a linear layer + ReLU, and one recurrent network runs over the L/w
segments instead of L steps. Decoding is parallel ("PMF"): every horizon segment j starts from
the final state with the query [position embedding j, channel embedding c], one recurrent step
each, and a linear layer maps each output to w values.

Channel independent (the paper's setting) runs every channel as its own sequence, by default
with a channel embedding in its decoder queries (the authors' `channel_id`; their ETTh2 script
turns it off, and the position embedding then fills the query); otherwise a segment embeds w
steps of all channels together.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.errors import ConfigError
from rnnops.models.layers import RecurrentStack, map_state

FORWARD_ONLY = "segrnn decodes forward from the final state; set it to false"


class SegmentRecurrence(nn.Module):
    handles_channels = True  # embeds channels itself: the frame does not fold them

    def __init__(
        self,
        input_size: int,
        output_size: int,
        horizon: int,
        lookback: int,
        stack: dict,
        segment_length: int,
        channel_independent: bool = True,
        head_dropout: float = 0.0,
        channel_embedding: bool = True,
        quantiles: int = 0,
        future_size: int = 0,
    ):
        super().__init__()
        w = segment_length
        self.quantiles = max(quantiles, 1)  # values per output and step
        if stack.get("bidirectional"):
            raise ConfigError("model.bidirectional", FORWARD_ONLY)
        # A lookback that w does not divide is padded at the front with its first value, and
        # a horizon that w does not divide is decoded to the next multiple and cut.
        self.w, self.n_in, self.n_out = w, -(-lookback // w), -(-horizon // w)
        self.pad, self.horizon = self.n_in * w - lookback, horizon
        self.channel_independent = channel_independent
        self.channels, self.outputs = input_size, (input_size if channel_independent
                                                   else output_size)
        d = stack["hidden_size"]
        per_segment_in = w if channel_independent else w * input_size
        per_segment_out = w if channel_independent else w * output_size
        self.embed = nn.Sequential(nn.Linear(per_segment_in, d), nn.ReLU())
        self.rnn = RecurrentStack(input_size=d, **stack)
        self.channel_embedding = channel_independent and channel_embedding
        if self.channel_embedding:
            self.position = nn.Parameter(torch.randn(self.n_out, d // 2))
            self.channel = nn.Parameter(torch.randn(input_size, d - d // 2))
        else:
            self.position = nn.Parameter(torch.randn(self.n_out, d))
        # each horizon segment's future covariates join its query
        self.future = nn.Linear(w * future_size, d) if future_size else None
        self.head = nn.Sequential(nn.Dropout(head_dropout),
                                  nn.Linear(d, per_segment_out * self.quantiles))

    def queries(self, batch: int) -> torch.Tensor:
        """(batch x sequences x n_out, 1, d): the decoder input of every horizon segment, in the
        order of `repeat_interleave` over the encoder's final states."""
        channels, m = self.channels, self.n_out
        if self.channel_embedding:
            q = torch.cat([self.position.unsqueeze(0).expand(channels, m, -1),
                           self.channel.unsqueeze(1).expand(channels, m, -1)], dim=-1)
        elif self.channel_independent:  # every channel asks the same queries
            q = self.position.unsqueeze(0).expand(channels, m, -1)
        else:
            q = self.position.unsqueeze(0)
        return q.unsqueeze(0).expand(batch, *q.shape).reshape(-1, 1, q.shape[-1])

    def future_queries(self, future: torch.Tensor, batch: int, channels: int) -> torch.Tensor:
        """(B, H, F) covariates -> one vector per horizon segment, in the queries' order."""
        missing = self.n_out * self.w - future.shape[1]
        if missing:  # a horizon w does not divide: its last step repeated, as decoded then cut
            future = torch.cat([future, future[:, -1:].expand(-1, missing, -1)], dim=1)
        segments = self.future(future.reshape(batch, self.n_out, -1))  # (B, n_out, d)
        if self.channel_independent:  # every channel's queries read the same covariates
            segments = segments.unsqueeze(1).expand(batch, channels, *segments.shape[1:])
        return segments.reshape(-1, 1, segments.shape[-1])

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None,
                future: torch.Tensor | None = None):
        if self.pad:
            x = torch.cat([x[:, :1].expand(-1, self.pad, -1), x], dim=1)
        batch, lookback, channels = x.shape
        if self.channel_independent:
            segments = x.transpose(1, 2).reshape(batch * channels, self.n_in, self.w)
        else:
            segments = x.reshape(batch, self.n_in, self.w * channels)
        _, state = self.rnn(self.embed(segments))
        state = map_state(lambda s: s.repeat_interleave(self.n_out, dim=0), state)
        queries = self.queries(batch)
        if future is not None:
            queries = queries + self.future_queries(future, batch, channels)
        y, _ = self.rnn(queries, state)
        out = self.head(y[:, 0])  # (sequences x n_out, per-segment outputs)
        q = self.quantiles  # per step: outputs first, then quantiles
        if self.channel_independent:
            out = out.reshape(batch, channels, self.n_out * self.w, q).transpose(1, 2)
            out = out.reshape(batch, self.n_out * self.w, channels * q)
        else:
            out = out.reshape(batch, self.n_out * self.w, self.outputs * q)
        return out[:, : self.horizon], {}
