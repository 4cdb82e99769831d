"""Structure-aware chunking of markdown and plain text.

A document is read as blocks: headings, paragraphs, lists, tables and fenced code. A block that fits the chunk
size is one unit and is never cut; a larger one is cut where its structure allows — a paragraph into sentences, a
list into items, a table into rows (each piece repeats the header rows), code into lines — and only a sentence
longer than a whole chunk is cut between words. Units are packed greedily into chunks of at most `size` words:
a chunk never ends on a heading, and a heading starts a new chunk once the current one is half full. When the last
chunk would be small (under a quarter of `size`), the chunk budget is lowered just enough to spread the text
evenly over the same number of chunks, so no chunk is a one-word tail. A chunk is the text exactly as written,
from its first unit to its last: line breaks, indentation, tables and code keep their shape.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_TABLE_ROW = re.compile(r"^\s*\|")
_RULE_CELL = re.compile(r":?-{2,}:?")


def _table_rule(line: str) -> bool:
    """A markdown table's rule (`|---|:--:|`): cells of two or more dashes, optional colons and outer bars. Cell by
    cell, not one regex over the line (that one was quadratic on a line of spaces)."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    return all(_RULE_CELL.fullmatch(cell.strip()) for cell in body.split("|"))


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=\S)")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    words: int
    heading: bool = False
    prefix: str = ""  # a table piece's header rows, shown before it when a chunk starts with it


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end without the newline, line) for every line."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line), line))
        pos += len(line) + 1
    return out


def _blocks(text: str) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """(kind, lines) for each block: heading, code, table, list or paragraph; blank lines separate blocks."""
    lines, blocks, i = _lines(text), [], 0
    while i < len(lines):
        line = lines[i][2]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            mark, j = fence.group(1), i + 1
            while j < len(lines) and not lines[j][2].lstrip().startswith(mark[0] * len(mark)):
                j += 1
            blocks.append(("code", lines[i:j + 1]))
            i = j + 1
            continue
        if _HEADING.match(line):
            blocks.append(("heading", [lines[i]]))
            i += 1
            continue
        table = bool(_TABLE_ROW.match(line))
        j = i + 1
        while j < len(lines):
            nxt = lines[j][2]
            if not nxt.strip() or _FENCE.match(nxt) or _HEADING.match(nxt) or bool(_TABLE_ROW.match(nxt)) != table:
                break
            j += 1
        body = lines[i:j]
        kind = "table" if table else "list" if _LIST_ITEM.match(line) else "paragraph"
        blocks.append((kind, body))
        i = j
    return blocks


def _count(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


def _words(text: str, start: int, end: int, prefix: str = "") -> list[Unit]:
    return [Unit(m.start() + start, m.end() + start, 1, prefix=prefix if k == 0 else "")
            for k, m in enumerate(_WORD.finditer(text[start:end]))]


def _sentences(text: str, start: int, end: int, size: int) -> list[Unit]:
    cuts = [start] + [start + m.end() for m in _SENTENCE_END.finditer(text[start:end])] + [end]
    out: list[Unit] = []
    for a, b in itertools.pairwise(cuts):
        b_trim = a + len(text[a:b].rstrip())
        n = _count(text, a, b_trim)
        out += _words(text, a, b_trim) if n > size else [Unit(a, b_trim, n)] if n else []
    return out


def _units_of(text: str, kind: str, lines: list[tuple[int, int, str]], size: int) -> list[Unit]:
    start, end = lines[0][0], lines[-1][1]
    n = _count(text, start, end)
    if kind == "heading" or n <= size:
        return [Unit(start, end, n, heading=kind == "heading")] if n else []
    if kind == "paragraph":
        return _sentences(text, start, end, size)
    if kind == "table":  # rows, each piece after the first repeating the header (and its rule line)
        head = 2 if len(lines) > 2 and _table_rule(lines[1][2]) else 1
        prefix = text[lines[0][0]:lines[head - 1][1]]
        units = [Unit(start, lines[head - 1][1], _count(text, start, lines[head - 1][1]))]
        for a, b, _ in lines[head:]:
            units += _pieces(text, a, b, size, prefix)
        return units
    groups: list[list[tuple[int, int, str]]] = []  # list items (with their continuation lines) or code lines
    for line in lines:
        if kind == "code" or not groups or _LIST_ITEM.match(line[2]):
            groups.append([line])
        else:
            groups[-1].append(line)
    units = []
    for g in groups:
        units += _pieces(text, g[0][0], g[-1][1], size)
    return units


def _pieces(text: str, start: int, end: int, size: int, prefix: str = "") -> list[Unit]:
    n = _count(text, start, end)
    if n == 0:
        return []
    if n + len(prefix.split()) <= size:
        return [Unit(start, end, n, prefix=prefix)]
    return _words(text, start, end, prefix)


def units(text: str, size: int) -> list[Unit]:
    out: list[Unit] = []
    for kind, lines in _blocks(text):
        out += _units_of(text, kind, lines, size)
    return out


def _pack(us: list[Unit], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy (start, end) unit ranges; each chunk after the first begins with up to `overlap` words of units
    from the end of the one before."""
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(us):
        start = i
        if chunks and overlap:
            carried = 0
            while start - 1 > chunks[-1][0] and carried + us[start - 1].words <= overlap:
                start -= 1
                carried += us[start].words
        total = len(us[start].prefix.split()) + sum(u.words for u in us[start:i])
        j = i
        while j < len(us):
            u = us[j]
            if j > i and total + u.words > budget:
                break
            if j > i and u.heading and j + 1 < len(us) and (total >= budget / 2 or
                                                             total + u.words + us[j + 1].words > budget):
                break  # a heading opens the next chunk rather than closing this one
            total += u.words
            j += 1
        chunks.append((start, j))
        i = j
    return chunks


def chunk_text(text: str, size: int, overlap: int = 0) -> list[str]:
    """The chunks of `text` (see the module docstring)."""
    text = text.replace("\r\n", "\n")
    us = units(text, size)
    if not us:
        return []
    chunks = _pack(us, size, overlap)
    if len(chunks) > 1 and sum(u.words for u in us[chunks[-2][1]:chunks[-1][1]]) < size / 4:
        lo, hi = 1, size
        while lo < hi:  # the smallest budget that still needs no more chunks
            mid = (lo + hi) // 2
            if len(_pack(us, mid, overlap)) <= len(chunks):
                hi = mid
            else:
                lo = mid + 1
        chunks = _pack(us, lo, overlap)
    out = []
    for a, b in chunks:
        body = text[us[a].start:us[b - 1].end]
        out.append(f"{us[a].prefix}\n{body}" if us[a].prefix else body)
    return out
