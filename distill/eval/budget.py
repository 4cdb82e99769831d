"""The same training budget for every run being compared: the same number of examples, or about the same number
of tokens (counted with the student's tokenizer over every message of an example), drawn from each run in an
order shuffled by the seed, so neither run is judged on a larger share of data."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from distill.errors import InputError


def shuffled(examples: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    return [examples[i] for i in order]


def by_examples(runs: dict[str, list[dict[str, Any]]], n: int | None, seed: int) -> dict[str, list[dict[str, Any]]]:
    """`n` examples of each run (default: as many as the smallest run has)."""
    smallest = min(len(v) for v in runs.values())
    n = smallest if n is None else n
    if n > smallest:
        name = min(runs, key=lambda k: len(runs[k]))
        raise InputError(f"--examples {n}: {name} has only {smallest} examples; give at most {smallest}")
    return {name: shuffled(ex, seed)[:n] for name, ex in runs.items()}


def by_tokens(runs: dict[str, list[dict[str, Any]]], tokens: int, seed: int,
              count: Callable[[dict[str, Any]], int]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """Examples of each run, in seeded order, while their tokens stay within `tokens`; with the tokens taken."""
    out, used = {}, {}
    for name, ex in runs.items():
        chosen, total = [], 0
        for example in shuffled(ex, seed):
            size = count(example)
            if total + size > tokens:
                break
            chosen.append(example)
            total += size
        if not chosen:
            raise InputError(f"--tokens {tokens}: not even one example of {name} fits; raise it")
        if total < tokens and len(chosen) == len(ex) and total < 0.9 * tokens:
            raise InputError(f"--tokens {tokens}: {name} has only {total} tokens in all; give at most {total}")
        out[name], used[name] = chosen, total
    return out, used


def token_counter(source: str) -> Callable[[dict[str, Any]], int]:
    """Tokens of an example's messages (prompt and reply) by the student's own tokenizer."""
    from pathlib import Path

    from transformers import AutoTokenizer

    folder, kwargs = source, {}
    if source.endswith(".gguf"):
        folder, kwargs = str(Path(source).parent), {"gguf_file": Path(source).name}
    tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)

    def count(example: dict[str, Any]) -> int:
        messages = [*example["prompt"], *example.get("completion", [])]
        return sum(len(tokenizer(m["content"], add_special_tokens=False)["input_ids"]) for m in messages)

    return count
