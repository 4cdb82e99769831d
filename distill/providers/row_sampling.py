"""Sampling that gives each generated row its own random stream, so a prompt's text does not depend on which
prompts share its batch (the `transformers` provider; imported only with torch).

`model.generate(do_sample=True)` draws every row's next token from one generator, so a row's sample depends on
how many rows come before it and on the whole batch's shape. Here generation runs greedy, and this logits
processor turns the argmax into a sample: temperature and top-p are applied to each row on its own, then Gumbel
noise from the row's own generator is added (the argmax of logits/T + Gumbel noise is a sample of softmax(logits/T),
the Gumbel-max trick). A row's generator is seeded from the run's seed, the sample's number and the prompt's text
alone; it draws once per step whatever the other rows do, so step t's noise is the same in any batch.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch


def row_seed(seed: int, sample: int, prompt: str) -> int:
    """The seed of one sample of one prompt: a function of those alone."""
    digest = hashlib.sha256(f"{seed}\x00{sample}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class RowSampler:
    """A logits processor (transformers calls it with the ids so far and the next-token scores of every row)."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float | None) -> None:
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.temperature = temperature
        self.top_p = top_p if top_p is not None and top_p < 1 else None

    def __call__(self, input_ids: Any, scores: torch.Tensor) -> torch.Tensor:
        rows, vocab = scores.shape
        assert rows == len(self.generators), "one generator per row"
        scores = scores.float() / self.temperature
        if self.top_p is not None:
            scores = torch.stack([_nucleus(row, self.top_p) for row in scores])  # row by row: no batch effects
        uniform = torch.stack([torch.rand(vocab, generator=g) for g in self.generators]).to(scores.device)
        return scores - torch.log(-torch.log(uniform))  # + Gumbel noise; u = 0 gives -inf: never chosen


def _nucleus(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """One row's scores with the tokens outside the smallest set whose probability reaches `top_p` set to -inf
    (the most likely token always stays)."""
    ordered, order = torch.sort(scores, descending=True)
    probs = torch.softmax(ordered, dim=-1)
    before = torch.cumsum(probs, dim=-1) - probs  # probability mass of the tokens ranked above each one
    drop = before >= top_p
    drop[0] = False
    out = scores.clone()
    out[order[drop]] = float("-inf")
    return out
