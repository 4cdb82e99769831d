"""Self-instruct's ROUGE-L novelty filter, exact and fast.

Decisions are identical to the `rouge_score` package (RougeScorer(["rougeL"], use_stemmer=False)) with
self-instruct's greedy rule: a candidate joins the pool unless its ROUGE-L F1 with some pool member is > the
threshold (0.7 in the paper; exact at any threshold).

How it is fast without changing a decision:
1. Tokens are produced by the same steps as rouge_score's tokenizer and mapped to ints.
2. ROUGE-L F1 = 2*LCS/(|a|+|b|) and LCS <= the multiset overlap of the two token lists, so a pair can only exceed
   the threshold t if its overlap o > t/2*(|a|+|b|), which forces o > t/(2-t)*|x| for each side x (0.538*|x| at
   t = 0.7) and a partner length within a factor (2-t)/t. Prefix filtering (the classic set-similarity-join
   lemma) then says: under any fixed global
   order of tokens, two lists whose overlap is >= t share an element within the first |x|-t+1 elements of each.
   We index every pool member by that prefix (rarest tokens first) and probe with the candidate's prefix.
3. Survivors of a length check get their LCS from rapidfuzz (C++, bit-parallel over one character per token),
   and the F1 is computed with rouge_score's own float formula, so the comparison with t is bit-identical.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
_VALID = re.compile(r"^[a-z0-9]+$")


def rouge_tokens(text: str) -> list[str]:
    """rouge_score's tokenizer without a stemmer, step for step."""
    text = _NON_ALNUM.sub(" ", text.lower())
    return [t for t in _SPACES.split(text) if _VALID.match(t)]


def rouge_l_f1(lcs: int, len_a: int, len_b: int) -> float:
    """rouge_score's F-measure from an LCS length (same operations, so the same float)."""
    if lcs == 0 or len_a == 0 or len_b == 0:
        return 0.0
    precision = lcs / len_b
    recall = lcs / len_a
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def _required_overlap(n: int, threshold: float) -> int:
    """A lower bound on the overlap o any partner needs with a list of n tokens: F1 > t needs 2o/(n + n') > t
    with o <= n', so (2-t)*o > t*n, i.e. o > t/(2-t)*n (0.538*n at t = 0.7; rounded down, to stay
    conservative). Any pair with a common token has F1 > 0, so at least one shared token is always needed."""
    t = min(max(threshold, 0.0), 1.0)
    return max(1, int(t * n / (2 - t) - 1e-9) + 1)


def _length_window(m: int, threshold: float) -> tuple[float, float]:
    """The partner lengths n for which F1 > t is possible at all: 2*min(m, n)/(m + n) > t."""
    t = min(max(threshold, 0.0), 1.0)
    if t <= 0:
        return 0.0, float("inf")
    return m * t / (2 - t) - 1e-9, m * (2 - t) / t + 1e-9


def _as_text(ids: list[int]) -> str:
    """Token ids as one character each (skipping the surrogate block), so rapidfuzz compares strings."""
    return "".join(chr(i + 0xE000) if i < 0x2000 else chr(i + 0x10000) for i in ids)


class NoveltyFilter:
    """Greedy, order-dependent ROUGE-L novelty over a growing pool."""

    def __init__(self, threshold: float = 0.7, frequency_hint: Iterable[str] = ()) -> None:
        from rapidfuzz.distance import LCSseq

        self._lcs = LCSseq.similarity
        self.pool_text: list[str] = []
        self.threshold = threshold
        self.vocab: dict[str, int] = {}
        self.freq: Counter[str] = Counter()
        for text in frequency_hint:  # fixes the global token order: frequent tokens last
            self.freq.update(set(rouge_tokens(text)))
        self.pool_ids: list[list[int]] = []
        self.index: dict[tuple[int, int], list[int]] = {}
        self._rank: dict[int, tuple[int, str]] = {}

    def __len__(self) -> int:
        return len(self.pool_ids)

    def _encode(self, text: str) -> list[int]:
        out = []
        for tok in rouge_tokens(text):
            tid = self.vocab.get(tok)
            if tid is None:
                tid = self.vocab[tok] = len(self.vocab)
                self._rank[tid] = (self.freq.get(tok, 0), tok)
            out.append(tid)
        return out

    def _prefix(self, ids: list[int]) -> list[tuple[int, int]]:
        """The rarest len - t + 1 elements, where an element is (token, occurrence number) for multisets."""
        seen: Counter[int] = Counter()
        elements = []
        for tid in ids:
            seen[tid] += 1
            elements.append((tid, seen[tid]))
        elements.sort(key=lambda e: (self._rank[e[0]], e[1]))
        return elements[: len(ids) - _required_overlap(len(ids), self.threshold) + 1]

    def most_similar(self, text: str) -> tuple[float, int | None]:
        """(score, pool index) of a pool member whose F1 with `text` exceeds the threshold, else (best seen, None
        or its index). Exact for the decision: any member above the threshold is found."""
        ids = self._encode(text)
        if not ids:
            return 0.0, None
        candidates: set[int] = set()
        for element in self._prefix(ids):
            candidates.update(self.index.get(element, ()))
        best, best_idx = 0.0, None
        m = len(ids)
        lo, hi = _length_window(m, self.threshold)  # feasible partner lengths
        query, lcs, pool_ids, pool_text = _as_text(ids), self._lcs, self.pool_ids, self.pool_text
        cut = self.threshold - 1e-9
        for j in sorted(candidates):
            n = len(pool_ids[j])
            if not lo < n < hi:
                continue
            common = lcs(pool_text[j], query)
            if 2 * common / (m + n) <= cut:
                continue
            score = rouge_l_f1(int(common), n, m)
            if score > best:
                best, best_idx = score, j
            if score > self.threshold:
                return score, j
        return best, best_idx

    def add(self, text: str) -> int:
        """Put `text` in the pool unconditionally (seed instructions); return its pool index."""
        ids = self._encode(text)
        j = len(self.pool_ids)
        self.pool_ids.append(ids)
        self.pool_text.append(_as_text(ids))
        if ids:
            for element in self._prefix(ids):
                self.index.setdefault(element, []).append(j)
        return j

    def offer(self, text: str, exact_score: bool = False) -> tuple[bool, float, int | None]:
        """Self-instruct's rule: keep `text` (adding it to the pool) unless some member scores > threshold.
        With `exact_score`, a kept text's score is its highest ROUGE-L with the pool (`best_match`), for the
        record; otherwise only the decision is exact (a kept text's score is 0.0 or a lower bound)."""
        score, j = self.most_similar(text)
        if score > self.threshold:
            return False, score, j
        if exact_score:
            score, j = self.best_match(text)
        self.add(text)
        return True, score, j

    def best_match(self, text: str) -> tuple[float, int | None]:
        """(the highest ROUGE-L F1 of `text` with any pool member, that member's index); (0.0, None) when nothing
        is shared. Exact, and it compares with every member (rapidfuzz's cdist), so it costs ~0.3 us per member."""
        import numpy as np
        from rapidfuzz import process

        ids = self._encode(text)
        if not ids or not self.pool_ids:
            return 0.0, None
        common = process.cdist([_as_text(ids)], self.pool_text, scorer=self._lcs, dtype=np.int32, workers=1)[0]
        lengths = np.fromiter(map(len, self.pool_ids), dtype=np.int32, count=len(self.pool_ids))
        j = int(np.argmax(2 * common / (lengths + len(ids))))
        if common[j] == 0:
            return 0.0, None
        return rouge_l_f1(int(common[j]), int(lengths[j]), len(ids)), j


def greedy_filter(texts: list[str], pool: Iterable[str] = (), threshold: float = 0.7) -> list[int]:
    """Indices of `texts` kept by greedy sequential novelty filtering against `pool` + earlier kept texts."""
    pool = list(pool)
    f = NoveltyFilter(threshold, frequency_hint=pool + texts)
    for p in pool:
        f.add(p)
    return [i for i, t in enumerate(texts) if f.offer(t)[0]]
