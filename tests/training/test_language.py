import math

import pytest
import torch

from rnnops.training.language import (
    StreamChunks,
    fit_language_model,
    language_metrics,
    stream_loss,
)
from tests.conftest import load

VOCAB = 12


def patterned_stream(n: int, seed: int) -> torch.Tensor:
    """A stream a recurrent model can learn: counting 0..9 upward, with a random token (10 or
    11) inserted after every 9 that the model cannot predict."""
    g = torch.Generator().manual_seed(seed)
    out = []
    while len(out) < n:
        out.extend(range(10))
        out.append(int(torch.randint(10, 12, (), generator=g)))
    return torch.tensor(out[:n])


def test_fixed_chunks_cover_the_stream_in_order():
    batched = torch.arange(40).view(2, 20)
    chunks = StreamChunks(batched, bptt=6)
    assert len(chunks) == 4  # 19 predicted steps: 6 + 6 + 6 + 1
    inputs = torch.cat([x for x, _, _ in chunks], dim=1)
    targets = torch.cat([y for _, y, _ in chunks], dim=1)
    assert torch.equal(inputs, batched[:, :-1]) and torch.equal(targets, batched[:, 1:])


def test_variable_chunks_depend_on_seed_and_epoch_only():
    batched = torch.arange(4000).view(4, 1000)
    a, b = StreamChunks(batched, 35, variable=True, seed=1), StreamChunks(batched, 35, True, 1)
    lengths = [x.shape[1] for x, _, _ in a]
    assert lengths == [x.shape[1] for x, _, _ in b] and len(a) == len(lengths)
    assert len(set(lengths)) > 3 and sum(lengths) == 999
    a.sampler.set_epoch(1)
    assert [x.shape[1] for x, _, _ in a] != lengths
    assert all(scale == x.shape[1] / 35 for x, _, scale in a)


@pytest.mark.parametrize("options", [
    ["model=lstm"],
    ["model=peephole_lstm", "train.variable_bptt=true", "train.ar=1.0", "train.tar=1.0",
     "model.weight_drop=0.2", "model.variational=true", "model.output_dropout=0.1"],
    ["model=gru", "train.optimizer=sgd", "train.lr=1.0", "train.lr_decay=0.5",
     "train.lr_decay_start=2", "model.lm.init_range=0.1"],
    ["model=gru", "train.ema=0.9"],  # validated and kept: the weights' moving average
])
def test_language_model_learns_the_pattern(tmp_path, options):
    cfg = load("model.hidden_size=32", "model.num_layers=2", "train.lr=0.01",
               "train.max_epochs=4", "train.bptt=12", "train.batch_size=8",
               "train.eval_batch_size=4", "trainer.progress_bar=false", "train.gradient_clip=1",
               f"paths.root={tmp_path}", *options)
    splits = {"train": patterned_stream(4000, 0), "val": patterned_stream(600, 1)}
    result = fit_language_model(cfg, splits, VOCAB, checkpoint_dir=tmp_path / "ckpt")
    # 10 of 11 tokens are predictable; the 11th is a coin flip: ideal NLL = ln(2) / 11 = 0.063,
    # while token frequencies alone give about 2.46. Measured after 4 epochs: 0.07 to 0.09
    # (lstm, gru with the average), 0.42 (SGD), 0.45 (all the AWD regularisers at once).
    assert result.best_val_loss < 0.25 * math.log(VOCAB)
    # the restored best model scores the validation stream exactly as training measured it
    again = stream_loss(result.model, splits["val"], cfg.train.eval_batch_size, cfg.train.bptt)
    assert again == pytest.approx(result.best_val_loss, rel=1e-4)


def test_language_metrics():
    assert language_metrics(math.log(100.0), "word")["perplexity"] == pytest.approx(100.0)
    assert language_metrics(math.log(2.0) * 1.5, "char")["bpc"] == pytest.approx(1.5)
