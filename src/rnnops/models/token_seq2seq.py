"""Encoder-decoder over token sequences with additive attention (seq2seq.py has the equations):
source tokens -> embedding -> recurrent stack; the decoder reads [embedding of y_{t-1}, c_t] and
predicts the logits of y_t from [s_t, c_t].

Trained with teacher forcing (`forward` takes the target shifted right by one start token), and
decoded by decoding.py: `encode` gives the initial state of one or more sources and `step` is the
interface that greedy(), sample() and beam_search() drive. Every part of the state is batch-first,
so beam search can reorder hypotheses with map_state.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.layers import RecurrentStack
from rnnops.models.registry import cell_class
from rnnops.models.seq2seq import AdditiveAttention


class TokenSeq2Seq(AdditiveAttention):
    def __init__(self, source_vocab: int, target_vocab: int, embedding_size: int, stack: dict,
                 attention_size: int = 0):
        super().__init__()
        self.source_embedding = nn.Embedding(source_vocab, embedding_size)
        self.target_embedding = nn.Embedding(target_vocab, embedding_size)
        self.encoder = RecurrentStack(input_size=embedding_size, **stack)
        encoded, hidden = self.encoder.output_size, stack["hidden_size"]
        self.decoder = cell_class(stack["cell"])(embedding_size + encoded, hidden,
                                                 **(stack.get("cell_options") or {}))
        self.initial_query = nn.Linear(encoded, hidden)
        self.init_attention(encoded, hidden, attention_size)
        self.out = nn.Linear(hidden + encoded, target_vocab)

    def encode(self, source: torch.Tensor):
        """source (N, L) -> the decoder's initial state: (encoder outputs, their keys, s, the
        decoder cell's state, None until the first step)."""
        encoded, _ = self.encoder(self.source_embedding(source))
        s = torch.tanh(self.initial_query(self.encoder.summary(encoded)))
        return encoded, self.key(encoded), s, None

    def step(self, tokens: torch.Tensor, state):
        """tokens (N,) -> logits (N, V) of the next token, the new state and nothing else: the
        interface of decoding.py."""
        logits, state, _ = self._step(tokens, state)
        return logits, state

    def _step(self, tokens: torch.Tensor, state):
        encoded, keys, s, cell_state = state
        context, weights = self.attend(s, keys, encoded)
        step_in = torch.cat([self.target_embedding(tokens), context], dim=-1).unsqueeze(1)
        y, cell_state = self.decoder(step_in, cell_state)
        s = y[:, 0]
        logits = self.out(torch.cat([s, context], dim=-1))
        return logits, (encoded, keys, s, cell_state), weights

    def forward(self, source: torch.Tensor, target_in: torch.Tensor):
        """Teacher forcing: source (N, L) and target_in (N, T), the start token then the target
        without its last token -> logits (N, T, V) and the attention weights (N, T, L)."""
        state = self.encode(source)
        logits, weights = [], []
        for tokens in target_in.unbind(1):
            step_logits, state, alpha = self._step(tokens, state)
            logits.append(step_logits)
            weights.append(alpha)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)
