"""Issue #35: prompts never show a placeholder a model could copy, and the parsers read the forms models write
for what the prompts ask (a header's number as a letter or a word, a question's kind after the colon); the
personas cleaner drops a bare `A:` label and its quotes, and a coding answer needs a closed fence."""

from __future__ import annotations

import re

from distill.prompts import render
from distill.recipes.lab.parse import parse_contexts
from distill.recipes.personas.recipe import clean_task
from distill.recipes.shared.qa_pairs_parse import QAPair, parse_pairs

_PLACEHOLDER = re.compile(r"Context N|\[kind\]|: question\b|: answer\b|\"(?:Q|A)1: \.\.\.\"")


def test_the_lab_contexts_prompt_writes_every_header_with_its_number() -> None:
    prompt = render("lab/grounded_contexts.j2", task="Describe rainfall", examples=["Oslo, 760 mm"], count=3)
    assert '"Context 1:", "Context 2:", "Context 3:"' in prompt and not _PLACEHOLDER.search(prompt)


def test_the_knowledge_prompts_show_no_placeholder_pair() -> None:
    qa = render("knowledge_qa/generate.j2", chunk="The bridge opened in 1932.", count=2,
                types=["factual", "yes/no"], quote=False)
    lab = render("lab/knowledge_generate.j2", domain="bridges", outline="history", example_context="x",
                 examples=[{"question": "When?", "answer": "1932."}], chunk="y", count=2)
    assert "[factual]" in qa
    for prompt in (qa, lab):
        assert not _PLACEHOLDER.search(prompt), prompt


def test_context_headers_with_a_letter_or_a_word_split_and_never_reach_a_context() -> None:
    reply = "Context N: Paris, 820 mm Rainfall (M)\nContext M: Lima, 10 mm Rainfall (M)"
    assert parse_contexts(reply) == ["Paris, 820 mm Rainfall (M)", "Lima, 10 mm Rainfall (M)"]
    assert parse_contexts("**Context One:**\nFirst.\n\n### Context Two\nSecond.\n\nContext #3: Third.") == [
        "First.", "Second.", "Third."]
    assert parse_contexts("Context 1:\nContext is what the reader knows.") == ["Context is what the reader knows."]


def test_a_questions_kind_written_after_the_colon_is_its_kind() -> None:
    reply = "Q1: [factual] When did the bridge open?\nA1: In 1932.\nQ2: (Roughly) how long is it?\nA2: 2 km."
    assert parse_pairs(reply) == [QAPair("factual", "When did the bridge open?", "In 1932."),
                                  QAPair("", "(Roughly) how long is it?", "2 km.")]


def test_personas_cleaner_drops_a_bare_answer_label_and_its_quotes() -> None:
    assert clean_task('A: "Remedial work to repair damaged trains"') == "Remedial work to repair damaged trains"
    assert clean_task("Q1: How do tides work on the coast?") == "How do tides work on the coast?"
    assert clean_task("A dog needs a walk plan: write one.") == "A dog needs a walk plan: write one."
