"""The served language model's decoding parameters: defaults filled in, bad values refused."""

import pytest
import torch

from rnnops.config import ModelConfig
from rnnops.data.text import Vocabulary
from rnnops.errors import DataError
from rnnops.models.language import build_language_model
from rnnops.serving.generate import DEFAULTS, TextGenerator, checked_params


@pytest.fixture
def generator():
    torch.manual_seed(0)
    vocab = Vocabulary(("<eos>", "<unk>", "the", "cat", "sat"))
    model = build_language_model(ModelConfig(name="lstm", hidden_size=8), len(vocab)).eval()
    return TextGenerator(model, vocab, "word")


def test_defaults_fill_in_and_strings_from_a_request_are_converted():
    assert checked_params({}) == DEFAULTS
    p = checked_params({"max_tokens": "4", "temperature": "0.5", "top_k": None})
    assert p["max_tokens"] == 4 and p["temperature"] == 0.5 and p["top_k"] == 0


@pytest.mark.parametrize(("params", "message"), [
    ({"method": "sample", "temperature": 0}, "temperature (--temperature): 0.0 must be > 0"),
    ({"method": "beam", "width": 0}, "width (--width): 0 must be >= 1"),
    ({"method": "sample", "top_k": -1}, "top_k (--top-k): -1 must be >= 0"),
    ({"max_tokens": 0}, "max_tokens (--max-tokens): 0 must be >= 1"),
    ({"max_tokens": "many"}, "max_tokens (--max-tokens): 'many' is not an int"),
    ({"method": "nucleus"}, "unknown decoding method 'nucleus'"),
])
def test_bad_parameters_are_one_line_data_errors(generator, params, message):
    with pytest.raises(DataError) as err:
        generator.generate("the", **params)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_every_method_generates_within_max_tokens(generator):
    for method in ("greedy", "beam", "sample"):
        words = generator.generate("the cat", method=method, max_tokens=3).split()
        assert len(words) <= 3 and set(words) <= {"the", "cat", "sat", "<unk>"}


def test_word_level_lines_carry_no_space_at_the_break():
    from rnnops.data.text import Vocabulary
    from rnnops.serving.generate import TextGenerator

    vocab = Vocabulary(("<eos>", "<unk>", "the", "cat"))
    gen = TextGenerator(None, vocab, "word")
    assert gen.detokenize(["the", "cat", "<eos>", "the", "<eos>", "cat"]) == "the cat\nthe\ncat"
