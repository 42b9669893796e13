"""Turning a step function into sequences: greedy search, beam search (the article's "dynamic
programming" over partial sequences) and temperature / top-k sampling.

Every search drives `step(tokens (N,), state) -> (logits (N, V), state)` with batch-first states
(what LanguageModel.step provides), so it works for any autoregressive decoder with that step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnops.models.layers import map_state


@torch.no_grad()
def greedy(step, state, start: torch.Tensor, max_steps: int, end_token: int | None = None):
    """The most likely token at every step. start (N,) -> tokens (N, <= max_steps); a sequence
    that produced `end_token` keeps producing it."""
    tokens, done = start, torch.zeros_like(start, dtype=torch.bool)
    out = []
    for _ in range(max_steps):
        logits, state = step(tokens, state)
        tokens = logits.argmax(dim=-1)
        if end_token is not None:
            tokens = torch.where(done, torch.full_like(tokens, end_token), tokens)
            done |= tokens == end_token
        out.append(tokens)
        if end_token is not None and bool(done.all()):
            break
    return torch.stack(out, dim=1)


@torch.no_grad()
def sample(step, state, start: torch.Tensor, max_steps: int, temperature: float = 1.0,
           top_k: int = 0, generator: torch.Generator | None = None):
    """Tokens drawn from softmax(logits / temperature), restricted to the top_k most likely when
    top_k > 0. start (N,) -> tokens (N, max_steps)."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0; use greedy() for the argmax")
    tokens, out = start, []
    for _ in range(max_steps):
        logits, state = step(tokens, state)
        logits = logits / temperature
        if top_k:
            kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        tokens = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)[:, 0]
        out.append(tokens)
    return torch.stack(out, dim=1)


@dataclass(frozen=True)
class Hypothesis:
    """One continuation found by `beam_search`."""

    tokens: list[int]
    log_prob: float
    score: float  # log_prob / length^length_penalty: what the beams are ranked by


@torch.no_grad()
def beam_search(step, state, start: int, max_steps: int, width: int,
                end_token: int | None = None, length_penalty: float = 0.0) -> list[Hypothesis]:
    """The `width` best continuations of one sequence, best first.

    `state` is that sequence's state (batch 1). A hypothesis ends at `end_token` (included in its
    tokens) or after `max_steps`. Scores are summed log-probabilities divided by
    length^length_penalty (0: no normalisation; 1: the mean per token), which counters the
    search's preference for short sequences.
    """
    if width < 1:
        raise ValueError("beam width must be >= 1")

    def scored(tokens: list[int], log_prob: float) -> Hypothesis:
        return Hypothesis(tokens, log_prob, log_prob / max(len(tokens), 1) ** length_penalty)

    alive: list[list[int]] = [[]]
    log_probs = torch.zeros(1)
    last = torch.tensor([start])
    finished: list[Hypothesis] = []
    for _ in range(max_steps):
        logits, state = step(last, state)
        candidates = log_probs.to(logits.device)[:, None] + torch.log_softmax(logits.float(), -1)
        vocab = candidates.shape[-1]
        # 2 x width candidates leave `width` alive even when up to `width` of them end here.
        values, flat = candidates.view(-1).topk(min(2 * width, candidates.numel()))
        keep_rows, keep_tokens, keep_scores = [], [], []
        for value, index in zip(values.tolist(), flat.tolist(), strict=True):
            row, token = divmod(index, vocab)
            if end_token is not None and token == end_token:
                finished.append(scored(alive[row] + [token], value))
            else:
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_scores.append(value)
            if len(keep_rows) == width:
                break
        if len(finished) >= width or not keep_rows:
            break
        rows = torch.tensor(keep_rows, device=logits.device)
        state = map_state(lambda s, rows=rows: s.index_select(0, rows), state)
        alive = [alive[r] + [t] for r, t in zip(keep_rows, keep_tokens, strict=True)]
        log_probs = torch.tensor(keep_scores)
        last = torch.tensor(keep_tokens, device=logits.device)
    else:
        finished.extend(scored(t, p) for t, p in zip(alive, log_probs.tolist(), strict=True))
    return sorted(finished, key=lambda h: h.score, reverse=True)[:width]
