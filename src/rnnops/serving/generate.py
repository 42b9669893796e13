"""Text from a language model: a prompt in, its continuation out, by greedy search, beam search
or sampling (models/decoding.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rnnops.data.text import EOS, UNK, Vocabulary
from rnnops.errors import DataError
from rnnops.models.decoding import beam_search, greedy, sample
from rnnops.models.io import load_model, save_model
from rnnops.serving import MODEL, SERVICE, write_manifest

VOCAB = "vocab.json"
METHODS = ("greedy", "beam", "sample")
#: Decoding parameters and their defaults; MLflow passes them as `params`.
#: Beam scores default to the mean log-probability per token (length_penalty 1): unnormalised
#: sums favour ending at once, which an untrained or small model often does.
DEFAULTS: dict[str, Any] = {"method": "greedy", "max_tokens": 30, "width": 5,
                            "length_penalty": 1.0, "temperature": 1.0, "top_k": 0, "seed": 0}
#: Each numeric parameter's type and rule; a bad value is a DataError naming it, since it may
#: come from a REST request as well as from `rnnops generate`.
RULES: dict[str, tuple[type, Any, str]] = {
    "max_tokens": (int, lambda v: v >= 1, "must be >= 1"),
    "width": (int, lambda v: v >= 1, "must be >= 1"),
    "length_penalty": (float, lambda v: True, ""),
    "temperature": (float, lambda v: v > 0, "must be > 0 (greedy takes the likeliest token)"),
    "top_k": (int, lambda v: v >= 0, "must be >= 0 (0: every token)"),
    "seed": (int, lambda v: True, ""),
}


def checked_params(params: dict[str, Any]) -> dict[str, Any]:
    """The decoding parameters with their defaults filled in and their types and rules checked."""
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    if p["method"] not in METHODS:
        raise DataError(f"unknown decoding method {p['method']!r}; choose one of "
                        f"{', '.join(METHODS)}")
    for key, (kind, ok, rule) in RULES.items():
        where = f"decoding parameter {key} (--{key.replace('_', '-')})"
        try:
            p[key] = kind(p[key])
        except (TypeError, ValueError):
            raise DataError(f"{where}: {p[key]!r} is not {'an' if kind is int else 'a'} "
                            f"{kind.__name__}") from None
        if not ok(p[key]):
            raise DataError(f"{where}: {p[key]} {rule}")
    return p


@dataclass
class TextGenerator:
    model: torch.nn.Module
    vocab: Vocabulary
    level: str  # word | char

    def interface(self) -> dict[str, Any]:
        """What MLflow records of this model (rnnops.tracking.log_service): prompts in, prompts
        and continuations out, the decoding options as params."""
        return {"inputs": [("string", "prompt")],
                "outputs": [("string", "prompt"), ("string", "text")],
                "params": dict(DEFAULTS),
                "metadata": {"rnnops_kind": "language_model", "level": self.level,
                             "vocab_size": len(self.vocab)}}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_model(self.model, folder / MODEL)
        (folder / VOCAB).write_text(json.dumps(list(self.vocab.tokens), ensure_ascii=False),
                                    encoding="utf-8")
        (folder / SERVICE).write_text(json.dumps({"kind": "language_model",
                                                  "level": self.level}) + "\n")
        write_manifest(folder)  # checked whenever the model is loaded

    @classmethod
    def load(cls, folder: Path) -> TextGenerator:
        meta = json.loads((folder / SERVICE).read_text())
        tokens = tuple(json.loads((folder / VOCAB).read_text(encoding="utf-8")))
        return cls(load_model(folder / MODEL), Vocabulary(tokens), meta["level"])

    def tokenize(self, prompt: str) -> list[str]:
        if self.level == "char":
            return list(prompt)
        return prompt.split() or [EOS]  # an empty prompt starts a new sentence

    def detokenize(self, tokens: list[str]) -> str:
        if self.level == "char":
            return "".join(tokens)
        # <eos> ends a line: no space on either side of the line break
        lines = " ".join(tokens).split(EOS)
        return "\n".join(line.strip() for line in lines)

    @torch.no_grad()
    def generate(self, prompt: str, **params: Any) -> str:
        p = checked_params(params)
        tokens = self.tokenize(prompt)
        if not tokens:
            raise DataError("the prompt is empty; give at least one character")
        ids = self.vocab.encode(tokens)
        unknown = self.vocab.ids.get(UNK)
        if self.level == "word" and unknown is not None and bool((ids == unknown).all()):
            raise DataError(f"no word of the prompt {prompt!r} is in the model's vocabulary")
        self.model.eval()
        # The prompt's last token starts the search; the ones before it build the state.
        state = self.model(ids[None, :-1]).state if len(ids) > 1 else None
        start = ids[-1:]
        end = self.vocab.ids.get(EOS) if self.level == "word" else None
        steps = p["max_tokens"]
        if p["method"] == "greedy":
            out = greedy(self.model.step, state, start, steps, end_token=end)[0].tolist()
        elif p["method"] == "beam":
            best = beam_search(self.model.step, state, int(start), steps, p["width"],
                               end_token=end,
                               length_penalty=p["length_penalty"])[0]
            out = best.tokens
        else:
            generator = torch.Generator().manual_seed(p["seed"])
            out = sample(self.model.step, state, start, steps, p["temperature"], p["top_k"],
                         generator)[0].tolist()
        return self.detokenize(self.vocab.decode(out))

    def predict(self, model_input: Any, params: dict | None = None) -> pd.DataFrame:
        """MLflow's entry point: prompts (a DataFrame with a `prompt` column, a list or one
        string) -> a DataFrame of prompt and generated text."""
        if isinstance(model_input, pd.DataFrame):
            if "prompt" not in model_input.columns:
                raise DataError("input has no column 'prompt'")
            prompts = model_input["prompt"].astype(str).tolist()
        elif isinstance(model_input, str):
            prompts = [model_input]
        else:
            prompts = [str(p) for p in model_input]
        texts = [self.generate(prompt, **(params or {})) for prompt in prompts]
        return pd.DataFrame({"prompt": prompts, "text": texts})
