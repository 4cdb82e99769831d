"""Parsing an Alpaca-style reply: `###`-separated items of `N. Instruction:`, `N. Input:`, `N. Output:`."""

from __future__ import annotations

import re
from dataclasses import dataclass

NO_INPUT = re.compile(r"^\s*(<\s*no\s*input\s*>|no input|none|n/?a)\s*\.?\s*$", re.I)


@dataclass(frozen=True)
class AlpacaItem:
    instruction: str
    input: str
    output: str


def parse_alpaca(reply: str, first_number: int) -> list[AlpacaItem | str]:
    """Items in order; an item that does not split into the three fields comes back as its raw text (the caller
    rejects it as unparseable)."""
    text = f"{first_number}. Instruction: {reply.lstrip()}" if not re.match(r"\s*\d+\s*\.", reply) else reply
    out: list[AlpacaItem | str] = []
    for block in re.split(r"\n?\s*###\s*\n?", text):
        if not block.strip():
            continue
        parts = re.split(r"\d+\s*\.\s*(Instruction|Input|Output)\s*:", block)
        fields: dict[str, str] = {}
        for name, value in zip(parts[1::2], parts[2::2]):
            fields.setdefault(name.lower(), value.strip())
        if "instruction" in fields and "output" in fields:
            inp = fields.get("input", "")
            out.append(AlpacaItem(fields["instruction"], "" if NO_INPUT.match(inp) else inp, fields["output"]))
        else:
            out.append(block.strip())
    return out
