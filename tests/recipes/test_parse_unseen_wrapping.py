"""Lead-ins and closing remarks never seen before are dropped by their shape (issue 29, "Lead-ins are matched by
phrase"): each phrasing of tests/reply_styles/unseen/wrapping.yaml wraps every style of every list corpus and
the parse stays the corpus's expected one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.recipes.alpaca.parse import AlpacaItem, parse_alpaca
from distill.recipes.lab.parse import parse_contexts, parse_questions
from distill.recipes.self_instruct.parse import parse_input_first, parse_output_first
from distill.recipes.shared.numbered_list_parse import parse_numbered
from distill.recipes.shared.qa_pairs_parse import parse_pairs
from distill.recipes.shared.rewrite_parse import parse_rewrite
from distill.text.reply_text import clean_list_reply

CORPUS = Path(__file__).parents[1] / "reply_styles"
WRAPPING = yaml.safe_load((CORPUS / "unseen" / "wrapping.yaml").read_text(encoding="utf-8"))

LIST_PARSERS = {
    "numbered": lambda text: parse_numbered(text, 9),
    "lab_questions": parse_questions,
    "instances_input_first": lambda text: [[i.input, i.output] for i in parse_input_first(text)],
    "instances_output_first": lambda text: [[i.input, i.output] for i in parse_output_first(text)],
    "alpaca": lambda text: [[i.instruction, i.input, i.output] if isinstance(i, AlpacaItem) else i
                            for i in parse_alpaca(text, 4)],
    "lab_contexts": parse_contexts,
    "qa_pairs": lambda text: [[p.kind, p.question, p.answer] for p in parse_pairs(text)],
}
ENUMERATED = ("numbered", "lab_questions")  # one-line items: a lone line after them can only be a remark


def _styles() -> list[tuple[str, str, str, Any]]:
    out = []
    for path in sorted(CORPUS.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if spec["parser"] not in LIST_PARSERS:
            continue
        for style, reply in spec["styles"].items():
            if isinstance(reply, dict):
                reply = spec["styles"][reply["crlf_of"]].replace("\n", "\r\n")
            out.append((f"{path.stem}-{style}", spec["parser"], reply, spec["expected"]))
    return out


def _wrap(reply: str, lead: str | None, remark: str | None) -> str:
    """The wrapping where chat models put it: after a reasoning block, around the rest."""
    nl = "\r\n" if "\r\n" in reply else "\n"
    reasoning, sep, body = reply.rpartition("</think>")
    body = body.strip()
    if lead is not None:
        body = f"{lead}{nl}{nl}{body}"
    if remark is not None:
        body = f"{body}{nl}{nl}{remark}"
    return f"{reasoning}{sep}{nl}{nl}{body}" if sep else body


STYLES = _styles()


@pytest.mark.parametrize("lead", WRAPPING["lead_ins"])
@pytest.mark.parametrize(("name", "parser", "reply", "expected"), STYLES, ids=[s[0] for s in STYLES])
def test_an_unseen_lead_in_is_not_an_item(name: str, parser: str, reply: str, expected: Any, lead: str) -> None:
    assert LIST_PARSERS[parser](_wrap(reply, lead, None)) == expected


@pytest.mark.parametrize("remark", WRAPPING["remarks"])
@pytest.mark.parametrize(("name", "parser", "reply", "expected"), [s for s in STYLES if s[1] in ENUMERATED],
                         ids=[s[0] for s in STYLES if s[1] in ENUMERATED])
def test_an_unseen_remark_after_enumerated_items_is_not_an_item(name: str, parser: str, reply: str, expected: Any,
                                                                remark: str) -> None:
    lead = WRAPPING["lead_ins"][len(name) % len(WRAPPING["lead_ins"])]
    assert LIST_PARSERS[parser](_wrap(reply, lead, remark)) == expected


def test_a_reply_cut_to_an_unseen_lead_in_has_no_task() -> None:
    """With self-instruct's "\\n\\n" stop the reply ends at the lead-in: no task (so it is asked again)."""
    assert parse_numbered("Great question! Below is my answer:", 9) == []
    assert parse_questions("**Wonderful, I put together a fresh batch for your dataset:**") == []


def test_content_shaped_like_wrapping_stays() -> None:
    """A continued item ending with a colon on the line after the prompt, labels, a one-word heading, and a
    single rewritten text (never cut by shape: "Solve the system:" followed by equations is the problem)."""
    assert parse_numbered("Sort the following numbers in ascending order:\n10. Name three rivers in Asia.", 9) == [
        "Sort the following numbers in ascending order:", "Name three rivers in Asia."]
    assert clean_list_reply("Input:\n\n7, 2, 9") == "Input:\n\n7, 2, 9"
    assert clean_list_reply("Context 1:\n\nThe bridge opened in 1932.") == "Context 1:\n\nThe bridge opened in 1932."
    problem = "Solve the following system of equations:\n\nx + y = 3\n2x - y = 0"
    assert parse_rewrite(problem) == problem
    answer = "9. Explain tides.\n10. Describe a glacier.\n\nDescribe a volcano in two sentences please"
    assert parse_numbered(answer, 9) == ["Explain tides.", "Describe a glacier."]  # a lone line after items


def test_self_instruct_records_never_begin_with_an_unseen_lead_in(tmp_path, teacher_server):
    """The issue's run: a teacher that opens with "Great question! Below is my answer:" and continues the list
    at the open item 9 made records whose instruction began with the lead-in. The real CLI, a scripted server."""
    from helpers import ROOT, distill, read_jsonl, write

    reply = ("Great question! Below is my answer:\n\nWrite a haiku about the {h} lighthouse in deep winter.\n"
             "10. Explain how the {h}b tide rises and falls to a curious child.\n"
             "11. Suggest three names for the {h}c bakery that sells only bread.\n\nThose should keep the dataset "
             "varied.")
    teacher_server.configure(rules=[
        {"match": r"Invent a list of new", "reply": reply},
        {"match": r"Is it classification\?$", "reply": "No"},
        {"match": r"Task: ", "reply": "Example 1\nInput: spring\nOutput: It is lively."}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 3
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, patience: 5}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    instructions = [r["instruction"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")]
    assert len(instructions) == 3
    assert all(i.split()[0] in ("Write", "Explain", "Suggest") for i in instructions), instructions
    assert not any("varied" in i or "Great question" in i for i in instructions)
