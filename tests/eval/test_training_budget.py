"""The same training budget for both runs of `distill compare --train`: as many examples as the smaller run has
(or --examples), or examples up to a number of tokens, drawn in a seeded order; a budget a run cannot meet stops
with a message."""

from __future__ import annotations

import pytest

from distill.errors import InputError
from distill.eval.budget import by_examples, by_tokens


def _examples(n: int, words: int) -> list[dict]:
    return [{"prompt": [{"role": "user", "content": f"q{i}"}],
             "completion": [{"role": "assistant", "content": " ".join(["w"] * words)}]} for i in range(n)]


def _words(example: dict) -> int:
    return sum(len(m["content"].split()) for m in [*example["prompt"], *example["completion"]])


def test_examples_budget_is_the_smaller_run_and_seeded():
    runs = {"a": _examples(12, 3), "b": _examples(8, 3)}
    chosen = by_examples(runs, None, seed=1)
    assert {k: len(v) for k, v in chosen.items()} == {"a": 8, "b": 8}
    assert chosen == by_examples(runs, None, seed=1) and chosen["a"] != by_examples(runs, None, seed=2)["a"]
    assert {k: len(v) for k, v in by_examples(runs, 5, seed=1).items()} == {"a": 5, "b": 5}
    with pytest.raises(InputError, match="b has only 8 examples"):
        by_examples(runs, 9, seed=1)


def test_tokens_budget_takes_examples_while_they_fit():
    runs = {"short": _examples(20, 1), "long": _examples(20, 9)}  # 2 and 10 tokens an example
    chosen, used = by_tokens(runs, 40, seed=0, count=_words)
    assert {k: len(v) for k, v in chosen.items()} == {"short": 20, "long": 4}
    assert used == {"short": 40, "long": 40}
    with pytest.raises(InputError, match="short has only 40 tokens"):
        by_tokens(runs, 100, seed=0, count=_words)
    with pytest.raises(InputError, match="not even one example"):
        by_tokens(runs, 5, seed=0, count=_words)
