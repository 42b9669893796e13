"""Word- or character-level language model: embedding -> recurrent stack -> decoder, the decoder
tied to the embedding matrix (Press & Wolf 2017; Inan et al. 2017), with AWD-LSTM's dropouts
(Merity et al. 2018). Stateful across BPTT chunks: the caller passes the previous chunk's state,
detached (layers.detach_state), so gradients stop at the chunk border but the memory carries on.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from rnnops.config import ModelConfig
from rnnops.errors import ConfigError
from rnnops.models.build import check_model_config, stack_options
from rnnops.models.dropout import LockedDropout, embedding_dropout
from rnnops.models.layers import RecurrentStack

SPEC_KIND = "language_model"


class LanguageModelOutput(NamedTuple):
    """What `LanguageModel.forward` returns."""

    logits: torch.Tensor  # (B, T, vocabulary)
    state: tuple
    hidden: torch.Tensor  # the last layer's outputs after dropout (AR regularises these)
    raw_hidden: torch.Tensor  # the same before output dropout (TAR regularises these)


class LanguageModel(nn.Module):
    """Embedding, recurrent stack and decoder (tied to the embedding when `tie_weights`)."""

    def __init__(self, vocab_size: int, embedding_size: int, stack: dict,
                 embedding_dropout: float = 0.0, tie_weights: bool = True):
        super().__init__()
        # What rebuilds this model around saved weights (models.io).
        self.spec = {"kind": SPEC_KIND, "vocab_size": vocab_size,
                     "embedding_size": embedding_size, "stack": stack,
                     "embedding_dropout": embedding_dropout, "tie_weights": tie_weights}
        self.embedding_dropout = embedding_dropout
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        # The stack's output dropout is applied here instead, so that TAR sees the raw outputs.
        # Tying needs the decoder's input to match the embedding: as in AWD-LSTM the last layer
        # is as wide as the embedding. (A linear projection from a wider last layer instead made
        # the tied model diverge at AWD's SGD lr 30 on Penn Treebank.)
        last = embedding_size if tie_weights else None
        self.encoder = RecurrentStack(input_size=embedding_size, **{
            **stack, "output_dropout": 0.0, "last_hidden_size": last})
        drop = LockedDropout if stack.get("variational") else nn.Dropout
        self.output_dropout = drop(stack.get("output_dropout", 0.0))
        self.decoder = nn.Linear(self.encoder.output_size, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens: torch.Tensor, state=None) -> LanguageModelOutput:
        """tokens (B, T) -> logits (B, T, V) and the state after the last token."""
        x = embedding_dropout(self.embedding, tokens, self.embedding_dropout, self.training)
        raw, state = self.encoder(x, state)
        hidden = self.output_dropout(raw)
        return LanguageModelOutput(self.decoder(hidden), state, hidden, raw)

    def step(self, tokens: torch.Tensor, state=None):
        """One token per sequence, (N,) -> logits (N, V): the interface decoding.py drives."""
        out = self(tokens.unsqueeze(1), state)
        return out.logits[:, -1], out.state


def language_model_from_spec(spec: dict) -> LanguageModel:
    """The language model a saved spec (`LanguageModel.spec`) describes."""
    return LanguageModel(**{k: v for k, v in spec.items() if k != "kind"})


def build_language_model(cfg: ModelConfig, vocab_size: int) -> LanguageModel:
    """The language model a config describes over a vocabulary of `vocab_size` tokens; options
    that do not apply to one (bidirectional, a width that tying would ignore) raise a
    ConfigError naming the key."""
    check_model_config(cfg)
    if cfg.bidirectional:
        raise ConfigError("model.bidirectional", "a language model reads left to right; "
                          "set it to false")
    lm = cfg.lm
    if (lm.tie_weights and cfg.num_layers == 1 and lm.embedding_size
            and lm.embedding_size != cfg.hidden_size):
        # tied weights make the last layer as wide as the embedding: hidden_size would be unused
        raise ConfigError("model.lm.embedding_size", "a 1-layer model with tied weights is as wide "
                          "as its embedding; set it equal to model.hidden_size, add layers, or "
                          "set model.lm.tie_weights=false")
    return LanguageModel(vocab_size, lm.embedding_size or cfg.hidden_size, stack_options(cfg),
                         lm.embedding_dropout, lm.tie_weights)
