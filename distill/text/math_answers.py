"""Final answers of math solutions: `\\boxed{}` and GSM8K `#### 72` extraction, normalisation, and equivalence.

Nothing a model or an input file says is evaluated: answers are parsed by the grammar in `math_expr` (numbers,
operators, `\\frac`, `\\sqrt`, `\\pi`, known functions, single-letter symbols; bounded size, nesting and exponent)
and compared by our own arithmetic. Equivalence is decided in order: identical normalised strings; then, when
both answers parse, equal values — exact rational arithmetic where possible (`0.5` = `\\frac{1}{2}` = `1/2`),
floating point within 1e-9 otherwise (`2\\sqrt{2}` = `\\sqrt{8}`), and for answers with symbols equal values at
several fixed rational points (`2x+2` = `2(x+1)`). Tuples, intervals and sets (`(1, 2)`, `[0, 1)`, `\\{1, 2\\}`)
compare item by item, sets and bare lists in any order. A percentage equals its number with or without the
percent (`25\\%` = `25` = `0.25`). Anything the grammar does not read is compared as normalised text only.
Every function here is linear in its input (extraction) or bounded (comparison) and never raises.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from distill.text.math_expr import (
    MAX_CHARS,
    NotMath,
    Tree,
    Value,
    evaluate,
    parse,
    symbols,
)

MAX_ITEMS = 16  # items of a tuple / set answer
MAX_NORMALIZE_CHARS = 2_000  # longer "answers" are compared as text with whitespace removed

_UNITS = r"(?:cm|mm|km|m|kg|g|mg|l|ml|s|sec|seconds|minutes|min|hours|h|hrs|days|dollars|cents|units|degrees|mph|" \
         r"km/h|inches|inch|feet|ft|miles|meters|metres|liters|litres|people|apples|students)"
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{|[{}]")
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .,+/-]{0,79}")
_GSM8K = re.compile(r"^[ \t]*####[ \t]*(\S[^\n]*)", re.MULTILINE)


def _boxes(text: str) -> list[tuple[int, int, int]]:
    """(start of `\\boxed{`, start of contents, end of contents) of every closed box, in order of start. One pass."""
    found: list[tuple[int, int, int]] = []
    open_boxes: list[tuple[int, int, int]] = []  # (start, inner, depth)
    depth = 0
    for m in _BOX.finditer(text):
        tok = m.group(0)
        if tok == "}":
            if open_boxes and open_boxes[-1][2] == depth:
                start, inner, _ = open_boxes.pop()
                found.append((start, inner, m.start()))
            depth = max(0, depth - 1)
        else:
            depth += 1
            if tok != "{":
                open_boxes.append((m.start(), m.end(), depth))
    return sorted(found)


def extract_boxed(text: str) -> list[str]:
    """Contents of every `\\boxed{...}` / `\\fbox{...}` in `text`, braces balanced, in order."""
    return [text[inner:end].strip() for _, inner, end in _boxes(text)]


def final_answers(text: str) -> list[str]:
    """A solution's final answers: its boxed answers, or else the answer of a GSM8K-style `#### 72` line."""
    boxed = extract_boxed(text)
    if boxed:
        return boxed
    lines = _GSM8K.findall(text)
    return [lines[-1].strip()] if lines else []


def reference_answer(text: str) -> str:
    """The answer in a ground-truth column: `72` from a GSM8K solution ending `#### 72`, the last boxed answer of a
    MATH-style solution, else the text itself."""
    found = final_answers(text)
    return found[-1] if found else text.strip()


def trim_after_boxed(text: str) -> str:
    """The solution up to the end of its last boxed answer (OpenMathInstruct drops what follows), or up to the end
    of its `#### answer` line when it has no box."""
    boxes = _boxes(text)
    last_open = max((m.start() for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text)), default=-1)
    if boxes and boxes[-1][0] == last_open:
        i = boxes[-1][2] + 1
        closing = re.match(r"[ $.\\\])]*", text[i:])  # keep "$.", "\\]" and the like that close the answer
        return (text[:i] + (closing.group(0) if closing else "")).rstrip()
    if last_open < 0:
        lines = list(_GSM8K.finditer(text))
        if lines:
            return text[: lines[-1].end()].rstrip()
    return text


def normalize(answer: str) -> str:
    if len(answer) > MAX_NORMALIZE_CHARS:  # not an answer to normalise (nor to keep in the cache below)
        return "".join(answer.split())
    return _normalize(answer)


@lru_cache(maxsize=4096)  # majority voting compares every pair of up to 512 sampled answers
def _normalize(answer: str) -> str:
    a = answer.strip()
    a = re.sub(r"\\text\{([^{}]*)\}", r"\1", a)
    a = re.sub(r"\\(?:mathrm|mathbf|textbf|mbox)\{([^{}]*)\}", r"\1", a)
    a = a.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "").replace("\\;", "")
    a = a.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("^\\circ", "").replace("^{\\circ}", "")
    a = a.replace("\\%", "%").replace("\\$", "").replace("$", "").replace("{,}", ",")
    a = re.sub(r"\bpercent\b\.?\s*$", "%", a.strip(), flags=re.IGNORECASE)
    a = re.sub(rf"(\d)\s*\b{_UNITS}\b\.?$", r"\1", a, flags=re.IGNORECASE)
    a = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", a)
    a = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", a)
    a = a.strip().rstrip(".").strip()
    if re.fullmatch(r"[a-zA-Z]\s*=\s*[^=]+", a):  # "x = 5" -> "5"
        a = a.split("=", 1)[1].strip()
    a = re.sub(r"_(\w)", r"_{\1}", a)  # an unbraced subscript is one character, as in LaTeX: \log_2 8, \log_28
    a = "".join(a.split())
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?%?", a):  # thousands separators
        a = a.replace(",", "")
    return a


@dataclass(frozen=True)
class Answer:
    kind: str  # "" one expression; "()", "[]", "[)", "(]" tuples and intervals; "set" sets and bare lists
    items: tuple[Tree, ...]
    percent: bool = False


def parse_answer(answer: str) -> Answer | None:
    """The parsed form of an answer, or None when the grammar does not read it (it is then text)."""
    return None if len(answer) > MAX_NORMALIZE_CHARS else _parse_answer(answer)


@lru_cache(maxsize=4096)
def _parse_answer(answer: str) -> Answer | None:
    a = normalize(answer)
    percent = a.endswith("%")
    a = a[:-1] if percent else a
    if not a or len(a) > MAX_CHARS:
        return None
    kind, inner = "", a
    if a.startswith("\\{") and a.endswith("\\}"):
        kind, inner = "set", a[2:-2]
    elif a[0] in "([" and a[-1] in ")]" and _closes_at_end(a):
        kind, inner = a[0] + a[-1], a[1:-1]
    parts = _split_commas(inner)
    if parts is None or len(parts) > MAX_ITEMS:
        return None
    if kind == "" and len(parts) > 1:
        kind = "set"
    elif kind not in ("", "set") and len(parts) == 1:
        kind, parts = "", [a]  # "(x+1)" is a parenthesised expression, not a 1-tuple
    try:
        items = tuple(parse(p) for p in parts)
    except NotMath:
        return None
    return Answer(kind, items, percent and len(items) == 1)


def _closes_at_end(a: str) -> bool:
    """Whether the bracket opening `a` is the one closing it (`(1,2)` yes, `(1)(2)` no)."""
    depth = 0
    for i, ch in enumerate(a):
        depth += (ch in "([{") - (ch in ")]}")
        if depth == 0:
            return i == len(a) - 1
    return False


def _split_commas(text: str) -> list[str] | None:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "([{") - (ch in ")]}")
        if depth < 0:
            return None
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def is_math_answer(answer: str) -> bool:
    """Whether an answer is something a math problem can have: an expression of the grammar (or a tuple, interval,
    set of them), or plain text of letters, digits and `.,-+/` (`Monday`, `\\text{no solution}`). Code, markup and
    the like (quotes, underscores, brackets that do not parse) are not."""
    if parse_answer(answer) is not None:
        return True
    return _PLAIN.fullmatch(re.sub(r"\\text\{([^{}]*)\}", r"\1", answer).strip()) is not None


def equivalent(a: str, b: str) -> bool:
    if normalize(a) == normalize(b):
        return True
    pa, pb = parse_answer(a), parse_answer(b)
    if pa is None or pb is None:
        return False
    if pa.kind == "" and pb.kind == "":
        return any(_same(x, y) for x in _readings(pa) for y in _readings(pb))
    if pa.kind != pb.kind or len(pa.items) != len(pb.items):
        return False
    if pa.kind != "set":
        return all(_same(x, y) for x, y in zip(pa.items, pb.items, strict=True))
    left = list(pb.items)
    for x in pa.items:  # unordered: match each item to a distinct equal one
        j = next((j for j, y in enumerate(left) if _same(x, y)), None)
        if j is None:
            return False
        left.pop(j)
    return True


def _readings(answer: Answer) -> list[Tree]:
    """`25%` reads as 0.25 and as 25 (graders accept both); anything else as itself."""
    tree = answer.items[0]
    return [("/", tree, ("n", Fraction(100))), tree] if answer.percent else [tree]


def _same(x: Tree, y: Tree) -> bool:
    """Equal values at each of a few fixed points for the symbols (exact where the arithmetic is rational)."""
    names = sorted(_symbols(x) | _symbols(y))
    if not names:
        vx, vy = _constant(x), _constant(y)
        return vx is not None and vy is not None and _close(vx, vy)
    compared = 0
    for k in range(3 if names else 1):
        vx, vy = _value_at(x, tuple(names), k), _value_at(y, tuple(names), k)
        if vx is None or vy is None:
            continue
        if not _close(vx, vy):
            return False
        compared += 1
    return compared > 0


@lru_cache(maxsize=4096)  # answers repeat across the pairs majority voting compares
def _symbols(tree: Tree) -> frozenset[str]:
    return frozenset(symbols(tree))


@lru_cache(maxsize=4096)
def _constant(tree: Tree) -> Value | None:
    return evaluate(tree, {})


@lru_cache(maxsize=16384)
def _value_at(tree: Tree, names: tuple[str, ...], k: int) -> Value | None:
    return evaluate(tree, {name: _point(i, k) for i, name in enumerate(names)})


def _point(i: int, k: int) -> Fraction:
    """Distinct rational values for symbols 0, 1, 2, ... at point k; positive at the first two points (so that
    `\\sqrt{x}` has a value), alternating in sign at the third."""
    value = Fraction(3 + 7 * i + 13 * k, 11 + i + 2 * k)
    return -value if k == 2 and i % 2 else value


def _close(x: Value, y: Value) -> bool:
    """Exact for two rationals; else within 1e-9 as floats. A rational beyond the range of a float (`10^{1000}`,
    `300!`) equals no floating-point value: it is never converted (that would raise OverflowError)."""
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        return x == y
    fx, fy = _as_float(x), _as_float(y)
    if fx is None or fy is None:
        return False
    if math.isinf(fx) or math.isinf(fy):
        return fx == fy
    return math.isclose(fx, fy, rel_tol=1e-9, abs_tol=1e-12)


def _as_float(value: Value) -> float | None:
    """`value` as a float, or None for a rational whose magnitude no float can hold."""
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except OverflowError:
        return None


def clusters(answers: list[str]) -> list[list[str]]:
    """The answers grouped by equivalence, each group in the order first seen (a majority vote's tally): every
    answer is compared with the first of each group so far, so K distinct answers cost K^2/2 comparisons."""
    groups: list[list[str]] = []
    for a in answers:
        for group in groups:
            if equivalent(a, group[0]):
                group.append(a)
                break
        else:
            groups.append([a])
    return groups
