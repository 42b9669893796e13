import math

import pytest
import torch

from rnnops.errors import ConfigError
from rnnops.models.decoding import beam_search, greedy, sample
from rnnops.models.language import build_language_model
from rnnops.models.layers import detach_state
from tests.conftest import model_config

V = 20


def language_model(**options):
    torch.manual_seed(0)
    return build_language_model(model_config(**{"hidden_size": 16, **options}), V)


def test_tied_decoder_shares_the_embedding():
    lm = language_model()
    assert lm.decoder.weight is lm.embedding.weight
    narrow = language_model(num_layers=2, embedding_size=8)  # the last layer is 8 wide
    assert narrow.decoder.weight is narrow.embedding.weight
    first, last = (layer[0].hidden_size for layer in narrow.encoder.layers)
    assert (first, last) == (16, 8)  # AWD-LSTM's sizes, not a projection from 16 to 8
    out = narrow(torch.randint(0, V, (2, 5)))
    assert out.logits.shape == (2, 5, V) and out.raw_hidden.shape == (2, 5, 8)
    untied = language_model(tie_weights=False)
    assert untied.decoder.weight is not untied.embedding.weight
    with pytest.raises(ConfigError, match="model.lm.embedding_size"):
        language_model(embedding_size=8)  # one layer: hidden_size 16 would go unused


def test_state_carries_across_bptt_chunks():
    lm = language_model(num_layers=2).eval()
    tokens = torch.randint(0, V, (3, 12))
    whole = lm(tokens).logits
    first = lm(tokens[:, :5])
    second = lm(tokens[:, 5:], detach_state(first.state))
    torch.testing.assert_close(torch.cat([first.logits, second.logits], 1), whole)


def test_awd_regularized_language_model_trains():
    lm = language_model(name="lstm", num_layers=2, weight_drop=0.5, input_dropout=0.2,
                        output_dropout=0.2, dropout=0.2, variational=True,
                        embedding_dropout=0.1)
    out = lm(torch.randint(0, V, (3, 7)))
    assert out.hidden.shape == out.raw_hidden.shape == (3, 7, 16)
    out.logits.sum().backward()
    assert lm.encoder.layers[0][0].cell.weight_hh_l0.grad is not None
    with pytest.raises(ConfigError, match="model.bidirectional"):
        language_model(bidirectional=True)


class Table:
    """A toy decoder whose next-token distribution depends only on the last token.
    Tokens: 0 start, 1 end, 2 'a', 3 'b', 4..6 three equally likely words after 'a'."""

    def __init__(self):
        p = torch.full((7, 7), 1e-9)
        p[0, 2], p[0, 3] = 0.6, 0.4  # greedy takes 'a'...
        p[2, 4:7] = 1 / 3  # ...after which nothing is likely (best path 0.6 x 1/3 = 0.2)
        p[3, 1], p[3, 6] = 0.9, 0.1  # while 'b' then end has 0.4 x 0.9 = 0.36
        p[4:7, 1] = 1.0
        p[1, 1] = 1.0
        self.log_p = (p / p.sum(-1, keepdim=True)).log()

    def step(self, tokens, state):
        return self.log_p[tokens], state


def test_beam_search_finds_what_greedy_misses():
    table = Table()
    greedy_tokens = greedy(table.step, None, torch.tensor([0]), 5, end_token=1)[0].tolist()
    assert greedy_tokens[:3] == [2, 4, 1]
    best = beam_search(table.step, None, 0, 5, width=2, end_token=1)[0]
    assert best.tokens == [3, 1]
    assert math.isclose(best.log_prob, math.log(0.4 * 0.9), rel_tol=1e-4)


def test_beam_width_one_equals_greedy_on_a_language_model():
    lm = language_model(num_layers=2).eval()
    prompt = torch.randint(0, V, (1, 6))
    state = lm(prompt[:, :-1]).state
    start = prompt[0, -1]
    expected = greedy(lm.step, state, start.view(1), 12)[0].tolist()
    best = beam_search(lm.step, state, int(start), 12, width=1)
    assert len(best) == 1 and best[0].tokens == expected
    wider = beam_search(lm.step, state, int(start), 12, width=4)
    assert len(wider) == 4 and wider[0].log_prob >= best[0].log_prob - 1e-6


class Counting:
    """Tokens 0 (start), 1 (end), 2 (a); the next-token probabilities depend on how many tokens
    came before (the state): end 0.5 first, then a 0.95, then end 0.95. So [end] has the highest
    total log-probability (log 0.5) and [a, a, end] the highest per token."""

    def __init__(self):
        p = torch.tensor([[1e-6, 0.5, 0.5], [1e-6, 0.05, 0.95], [1e-6, 0.95, 0.05],
                          [1e-6, 0.99, 0.01]])
        self.log_p = (p / p.sum(-1, keepdim=True)).log()

    def step(self, tokens, state):
        count = torch.zeros_like(tokens) if state is None else state
        return self.log_p[count.clamp(max=3)], count + 1


def test_length_normalisation_prefers_longer_hypotheses():
    counting = Counting()
    totals = beam_search(counting.step, None, 0, 6, width=3, end_token=1, length_penalty=0.0)
    assert totals[0].tokens == [1]
    assert math.isclose(totals[0].score, math.log(0.5), rel_tol=1e-4)
    means = beam_search(counting.step, None, 0, 6, width=3, end_token=1, length_penalty=1.0)
    assert means[0].tokens == [2, 2, 1]
    assert math.isclose(means[0].score, math.log(0.5 * 0.95 * 0.95) / 3, rel_tol=1e-4)
    assert [h.score for h in means] == sorted((h.score for h in means), reverse=True)


def test_sampling_respects_top_k_and_temperature():
    table = Table()
    g = torch.Generator().manual_seed(0)
    draws = sample(table.step, None, torch.zeros(2000, dtype=torch.long), 1, top_k=1,
                   generator=g)
    assert (draws == 2).all()  # top-1 sampling is greedy
    draws = sample(table.step, None, torch.zeros(4000, dtype=torch.long), 1, generator=g)
    assert abs((draws == 2).float().mean().item() - 0.6) < 0.03
    cold = sample(table.step, None, torch.zeros(4000, dtype=torch.long), 1, temperature=0.25,
                  generator=g)
    assert (cold == 2).float().mean() > 0.8  # 0.6^4 / (0.6^4 + 0.4^4) = 0.84
    with pytest.raises(ValueError, match="temperature"):
        sample(table.step, None, torch.zeros(1, dtype=torch.long), 1, temperature=0)
