"""Every reply parser against the same content in the styles chat models answer in: plain, a lead-in line, a
trailing remark, bold labels, headings, the whole reply in a code fence, "1)" numbering, a <think> block and
CRLF line ends. The corpus is tests/reply_styles/*.yaml; each file has one expected parse for all its styles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from distill.providers.base import Choice
from distill.providers.openai_reply import parse_reply
from distill.quality.replies import UnreadableReply, parse_score, parse_winner
from distill.recipes.alpaca.parse import AlpacaItem, parse_alpaca
from distill.recipes.lab.parse import parse_contexts, parse_questions
from distill.recipes.self_instruct.parse import parse_input_first, parse_output_first
from distill.recipes.shared.numbered_list_parse import parse_numbered
from distill.recipes.shared.qa_pairs_parse import parse_pairs
from distill.recipes.shared.rewrite_parse import parse_rewrite
from distill.recipes.shared.yes_no_verdict import read_verdict
from distill.text.math_answers import final_answers
from distill.text.reply_text import clean_reply, split_reasoning

CORPUS = Path(__file__).parents[1] / "reply_styles"
STYLES = ("plain", "lead_in", "trailing_remark", "bold_labels", "headings", "code_fence", "paren_numbers", "think",
          "crlf")


def _alpaca(text: str) -> list[Any]:
    return [[it.instruction, it.input, it.output] if isinstance(it, AlpacaItem) else it for it in parse_alpaca(text, 4)]


PARSERS = {
    "numbered": lambda text: parse_numbered(text, 9),
    "lab_questions": parse_questions,
    "instances_input_first": lambda text: [[i.input, i.output] for i in parse_input_first(text)],
    "instances_output_first": lambda text: [[i.input, i.output] for i in parse_output_first(text)],
    "alpaca": _alpaca,
    "lab_contexts": parse_contexts,
    "qa_pairs": lambda text: [[p.kind, p.question, p.answer] for p in parse_pairs(text)],
    "rewrite": parse_rewrite,
    "boxed": lambda text: final_answers(text)[-1],
    "judge_score": lambda text: parse_score(text, (1, 10))[0],
    "judge_winner": lambda text: parse_winner(text)[0],
}


def _cases() -> list[Any]:
    out = []
    for path in sorted(CORPUS.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(spec["styles"]) == set(STYLES), f"{path.name}: every style, no other"
        for style in STYLES:
            reply = spec["styles"][style]
            if isinstance(reply, dict):  # {crlf_of: style}: that style's reply with CRLF line ends
                reply = spec["styles"][reply["crlf_of"]].replace("\n", "\r\n")
                assert "\r\n" in reply
            out.append(pytest.param(spec["parser"], reply, spec["expected"], id=f"{path.stem}-{style}"))
    return out


@pytest.mark.parametrize(("parser", "reply", "expected"), _cases())
def test_reply_style_parses_exactly(parser: str, reply: str, expected: Any) -> None:
    assert PARSERS[parser](reply) == expected


@pytest.mark.parametrize(("parser", "reply", "expected"), _cases())
def test_reply_style_parses_the_same_after_the_provider_split_the_reasoning(parser: str, reply: str,
                                                                            expected: Any) -> None:
    """What recipes see: the text of a Choice built from the server's reply (reasoning moved out, LF ends)."""
    choice = parse_reply({"choices": [{"message": {"content": reply}, "finish_reason": "stop"}]}, label="t").choices[0]
    assert "<think>" not in choice.text and "\r" not in choice.text
    assert (choice.reasoning is not None) == ("<think>" in reply)
    assert PARSERS[parser](choice.text) == expected


def test_a_reply_cut_to_its_lead_in_has_no_task() -> None:
    """With self-instruct's "\\n\\n" stop, "Sure! ...:\\n\\n9. ..." arrives as the lead-in alone."""
    assert parse_numbered("Sure! Here are some more tasks:", 9) == []
    assert parse_numbered("Here are 7 more tasks, continuing the list:", 9) == []
    assert parse_numbered("<think>\nThe user wants more tasks", 9) == []  # cut inside the reasoning


def test_alpaca_items_numbered_per_line_pair_each_output_with_its_own_instruction() -> None:
    """Issue 17: without `###` separators the old parser took the first input and output of the whole reply."""
    reply = ("5. Instruction: Describe the animal in one sentence.\n5. Input: cats\n"
             "5. Output: Cats are small mammals.\n"
             "6. Instruction: Name the capital of France.\n"
             "7. Instruction: Add the two numbers.\n7. Input: 2 and 3\n7. Output: 5\n"
             "8. Instruction: Translate to French.\n8. Output: Bonjour.\n8. Input: Hello\n")
    assert parse_alpaca(reply, 5) == [
        AlpacaItem("Describe the animal in one sentence.", "cats", "Cats are small mammals."),
        "6. Instruction: Name the capital of France.",  # no input and no output: rejected, not paired
        AlpacaItem("Add the two numbers.", "2 and 3", "5"),
        "8. Instruction: Translate to French.\n8. Output: Bonjour.\n8. Input: Hello",  # out of order: rejected
    ]
    mixed = "5. Instruction: Name a colour.\n5. Input: <noinput>\n6. Output: Blue."
    assert parse_alpaca(mixed, 5) == [mixed]  # labels of different items


def test_a_title_above_the_list_is_not_an_item() -> None:
    """A model that restarts the numbering under a title: the title is neither a task nor an instruction."""
    assert parse_numbered("## More tasks\n\n1. Write a poem about rain.\n2. Name three rivers in Asia.", 9) == [
        "Write a poem about rain.", "Name three rivers in Asia."]
    assert parse_alpaca("## New tasks\n\n4. Instruction: Name a colour.\n4. Input: <noinput>\n4. Output: Blue.",
                        4) == [AlpacaItem("Name a colour.", "", "Blue.")]


def test_classification_verdict_in_chat_forms() -> None:
    for reply in ("Yes", "**Yes.**", "Yes, it is a classification task.", "<think>labels?</think>\n\nYes", "\"Yes\""):
        assert read_verdict(reply, "stop") is True, reply
    for reply in ("No", "**No.**", "No, it is open-ended.", "<think>open?</think>\n\nNo"):
        assert read_verdict(reply, "stop") is False, reply
    for reply in ("Not a classification task", ""):  # neither yes nor no: never read as a no
        with pytest.raises(UnreadableReply, match="neither yes nor no"):
            read_verdict(reply, "stop")


def test_instance_output_ends_at_the_next_input() -> None:
    """The paper's code cuts an output at the next `Input:`; without Example headers every pair is kept."""
    reply = "Input: 3 apples\nOutput: three\nInput: 5 pears\nOutput 2: five"
    assert [(i.input, i.output) for i in parse_input_first(reply)] == [("3 apples", "three"), ("5 pears", "five")]


def test_reasoning_forms() -> None:
    assert split_reasoning("<think>\nplan\n</think>\n\nanswer") == ("answer", "plan")
    assert split_reasoning("<think>\ncut off while thinking") == ("", "cut off while thinking")
    assert split_reasoning("plan from a template that opened the tag\n</think>\nanswer") == (
        "answer", "plan from a template that opened the tag")
    assert split_reasoning("Use <think> tags in your prompt.") == ("Use <think> tags in your prompt.", None)
    prose = "R1's reasoning ends with </think> and the answer follows."
    assert split_reasoning(prose) == (prose, None)
    choice = parse_reply({"choices": [{"message": {"content": "42", "reasoning_content": "6 x 7"}}]},
                         label="t").choices[0]
    assert (choice.text, choice.reasoning) == ("42", "6 x 7")
    assert Choice(text="<think>a</think>b", reasoning="first").reasoning == "first\n\na"


def test_content_is_kept_as_written() -> None:
    """Cleaning removes wrapping only: inner blank lines, indentation and markdown inside the content stay."""
    reply = "Sure! Here it is:\n\n```python\ndef f():\n\n    return 1\n```\n\nLet me know if you'd like changes!"
    assert clean_reply(reply) == "def f():\n\n    return 1"
    answer = "Dear team,\n\nI hope to see you all on Friday.\n\nBest,\nAna"
    assert clean_reply(answer) == answer
    table = "Here is a table of sales:\n| month | sales |\n|---|---|\n| May | 12 |\nWhich month sold most?"
    assert parse_rewrite(table) == table  # presents content, not the reply: not a lead-in
    assert parse_rewrite("Let's plan a trip to Japan: list five cities to visit.") == (
        "Let's plan a trip to Japan: list five cities to visit.")
    assert parse_numbered("Great Barrier Reef: describe its ecosystem.\n10. Name two reef fish.", 9) == [
        "Great Barrier Reef: describe its ecosystem.", "Name two reef fish."]


def test_qa_parsing_is_linear_in_runs_of_newlines() -> None:
    """Issue 15 item 4: the old pattern backtracked over every split of a newline run (about N^4): 500 newlines
    took 15 s. A subprocess with a generous limit, so a regression fails instead of hanging the suite."""
    code = ("from distill.recipes.shared.qa_pairs_parse import parse_pairs\n"
            "assert parse_pairs('Q1 [fact]: What?' + '\\n' * 20000) == []\n"
            "assert len(parse_pairs(('Q1: What?' + '\\n' * 3000 + 'A1: That.\\n') * 50)) == 50\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parents[2])
