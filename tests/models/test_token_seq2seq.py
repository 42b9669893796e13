"""Decoding the seq2seq decoder: a token encoder-decoder with attention trained to reverse short
digit strings, then decoded greedily, by beam search and by sampling."""

import pytest
import torch
from torch import nn

from rnnops.models.decoding import beam_search, greedy, sample
from rnnops.models.layers import map_state
from rnnops.models.token_seq2seq import TokenSeq2Seq

START, END, DIGITS = 0, 1, range(2, 10)


def reversal_batch(n: int, generator: torch.Generator):
    """n sources of 5 random digits; targets are the reversed digits then END."""
    source = torch.randint(DIGITS.start, DIGITS.stop, (n, 5), generator=generator)
    target = torch.cat([source.flip(1), torch.full((n, 1), END)], dim=1)
    return source, target


@pytest.fixture(scope="module")
def reverser():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = TokenSeq2Seq(10, 10, 16, {"cell": "lstm", "hidden_size": 32, "bidirectional": True})
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(150):
        source, target = reversal_batch(64, g)
        target_in = torch.cat([torch.full((64, 1), START), target[:, :-1]], dim=1)
        logits, _ = model(source, target_in)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 10), target.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def held_out():
    return reversal_batch(200, torch.Generator().manual_seed(1))


def test_greedy_decoding_reverses_unseen_strings(reverser):
    source, target = held_out()
    with torch.no_grad():
        decoded = greedy(reverser.step, reverser.encode(source), torch.full((200,), START), 8,
                         end_token=END)
    exact = (decoded[:, :6] == target).all(dim=1).float().mean().item()
    assert exact > 0.9


def test_beam_width_one_equals_greedy_and_wider_beams_decode_as_well(reverser):
    source, target = held_out()
    with torch.no_grad():
        state = reverser.encode(source[:40])
        greedy_tokens = greedy(reverser.step, state, torch.full((40,), START), 8, end_token=END)
    right = 0
    for n in range(40):
        one = map_state(lambda s, n=n: s[n: n + 1], state)
        width_one = beam_search(reverser.step, one, START, 8, width=1, end_token=END)
        assert width_one[0].tokens == greedy_tokens[n, :len(width_one[0].tokens)].tolist()
        beams = beam_search(reverser.step, one, START, 8, width=4, end_token=END)
        assert len(beams) == 4 and beams[0].score >= beams[-1].score
        assert beams[0].score >= width_one[0].score - 1e-5  # no worse than the greedy sequence
        right += beams[0].tokens == target[n].tolist()
    assert right / 40 > 0.9


def test_top_one_sampling_is_greedy_and_sampling_draws_valid_tokens(reverser):
    source, _ = held_out()
    start = torch.full((200,), START)
    with torch.no_grad():
        greedy_tokens = greedy(reverser.step, reverser.encode(source), start, 6)
        top_one = sample(reverser.step, reverser.encode(source), start, 6, top_k=1)
        hot = sample(reverser.step, reverser.encode(source), start, 6, temperature=5.0,
                     generator=torch.Generator().manual_seed(0))
    assert torch.equal(top_one, greedy_tokens)
    assert ((hot >= 0) & (hot < 10)).all()
    assert not torch.equal(hot, greedy_tokens)  # a hot softmax departs from the argmax


def test_attention_weights_sum_to_one_and_follow_the_reversal(reverser):
    source, target = held_out()
    target_in = torch.cat([torch.full((200, 1), START), target[:, :-1]], dim=1)
    with torch.no_grad():
        _, weights = reverser(source, target_in)
    assert weights.shape == (200, 6, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(200, 6))
    # output position t copies source position 4 - t: attention should look there most
    looked_at = weights[:, :5].argmax(-1)
    assert (looked_at == torch.arange(4, -1, -1)).float().mean() > 0.5
