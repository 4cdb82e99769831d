"""Benchmark decontamination by n-gram overlap (GPT-3's rule): normalise (lower-case, punctuation removed),
take N = the 5th-percentile benchmark question length in words clipped to 8..13, and drop a generated question
that shares any N-gram with a benchmark question. Benchmarks are JSONL files of questions."""

from __future__ import annotations

import re
from pathlib import Path

from distill.errors import InputError
from distill.io.jsonl import read_jsonl

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(ws: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


class Decontaminator:
    def __init__(self, questions: list[str], n: int | None = None) -> None:
        lengths = sorted(len(words(q)) for q in questions) or [13]
        fifth = lengths[int(0.05 * (len(lengths) - 1))]
        self.n = n or min(13, max(8, fifth))
        self.grams: set[tuple[str, ...]] = set()
        self.short: set[tuple[str, ...]] = set()  # benchmark questions shorter than n: matched whole
        for q in questions:
            ws = words(q)
            if len(ws) < self.n:
                self.short.add(tuple(ws))
            self.grams |= ngrams(ws, self.n)
        self.checked = 0
        self.removed = 0

    @classmethod
    def from_files(cls, paths: list[Path], field: str = "question") -> Decontaminator:
        questions = []
        for path in paths:
            for lineno, row in read_jsonl(path):
                text = row.get(field) or row.get("problem") or row.get("instruction")
                if not isinstance(text, str):
                    raise InputError(f"{path}:{lineno}: no {field!r} (or problem/instruction) string to check against")
                questions.append(text)
        if not questions:
            raise InputError(f"decontaminate: no benchmark questions in {', '.join(map(str, paths))}")
        return cls(questions)

    def contaminated(self, text: str) -> bool:
        self.checked += 1
        ws = words(text)
        hit = bool(ngrams(ws, self.n) & self.grams) or (len(ws) < self.n and tuple(ws) in self.short)
        if not hit and self.short:
            joined = " " + " ".join(ws) + " "
            hit = any(" " + " ".join(s) + " " in joined for s in self.short if s)
        self.removed += hit
        return hit

    def report(self) -> dict[str, int]:
        return {"n": self.n, "benchmark_ngrams": len(self.grams), "checked": self.checked, "removed": self.removed}
