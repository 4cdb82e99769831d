"""`run/records.py` driven directly: a record has the chat `messages` a trainer reads and the Alpaca columns,
and no record or preference pair reaches the dataset with a terminal escape, a NUL, a bidi override or a
runaway reply in any text a trainer reads — while ordinary text (tabs, newlines, CRLF, any script) passes."""

from __future__ import annotations

import pytest

from distill.run.records import MAX_TEXT_CHARS, acceptance_problem, make_record, make_rejection


def test_a_record_is_trl_messages_plus_alpaca_columns():
    record = make_record(instruction="Summarize:", input="Cats sleep a lot.", output="Cats nap.",
                         system="Be brief.", meta={"recipe": "respond"})
    assert record["messages"] == [{"role": "system", "content": "Be brief."},
                                  {"role": "user", "content": "Summarize:\n\nCats sleep a lot."},
                                  {"role": "assistant", "content": "Cats nap."}]
    assert (record["instruction"], record["input"], record["output"]) == ("Summarize:", "Cats sleep a lot.",
                                                                          "Cats nap.")
    plain = make_record(instruction="Hi", output="Hello", meta={})
    assert [m["role"] for m in plain["messages"]] == ["user", "assistant"] and plain["input"] == ""


def test_a_rejection_keeps_the_raw_reply_only_when_there_is_one():
    assert make_rejection(stage="s", reason="r", item={"i": 1}) == {"stage": "s", "reason": "r", "item": {"i": 1}}
    assert make_rejection(stage="s", reason="r", item={}, raw="", detail=0) == {
        "stage": "s", "reason": "r", "item": {}, "raw": "", "detail": 0}


@pytest.mark.parametrize("text", ["\x1b[2J\x1b[Hcleared", "nul\x00byte", "admin\u202e;)", "iso\u2066late\u2069",
                                  "del\x7f", "bell\x07"])
@pytest.mark.parametrize("where", ["output", "instruction", "input", "messages", "chosen", "prompt"])
def test_control_characters_anywhere_a_trainer_reads_are_refused(text, where):
    record = make_record(instruction="Q", output="A", meta={})
    if where in ("output", "instruction", "input"):
        record[where] = text
    elif where == "messages":
        record["messages"][0]["content"] = text
    else:
        record[where] = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": text}]
    assert acceptance_problem(record) == "control_characters"


def test_a_runaway_reply_is_refused_and_ordinary_text_passes():
    assert acceptance_problem(make_record(instruction="Q", output="x" * (MAX_TEXT_CHARS + 1), meta={})) == (
        "reply_too_large")
    ordinary = "Tab\there,\r\nnew lines\n, émigré, 漢字, עברית, emoji 🙂, math ∑x²"
    assert acceptance_problem(make_record(instruction=ordinary, input=ordinary + " (input)",
                                          output=ordinary + " (output)", meta={"note": ordinary})) is None


def test_control_characters_anywhere_in_meta_are_refused():
    """Meta is not trained on, but it is shown and published: a judge's rationale (or any model-written string
    there) with NUL, ESC or a bidi override is refused like a record text (issue #29)."""
    for meta in ({"rationales": {"overall": "a NUL \x00"}}, {"pairwise": {"rationales": ["ok", "\x1b[31m"]}},
                 {"reasoning": "flips \u202e"}, {"deep": [[{"k": "\u2066"}]]}):
        assert acceptance_problem(make_record(instruction="Q", output="A", meta=meta)) == "control_characters"


@pytest.mark.parametrize("thinking, output", [
    ("Add the tens, then the units.<|im_end|>", "42"),  # ChatML's end token inside the thinking
    ("First 17 + 25.</think>\n<think>Again: 42.", "42"),  # a second think block folded into the thinking
    ("Add the tens, then the units.", "<think>Hmm.</think> 42"),  # a think block left in the answer
    ("Add the tens.<｜end▁of▁sentence｜>", "42"),  # DeepSeek's token, full-width bars
    ("Add the tens, then the units.", "42 <|eot_id|>"),
])
def test_thinking_or_its_answer_with_a_template_token_is_refused(thinking, output):
    record = make_record(instruction="What is 17 + 25?", output=output, meta={}, reasoning=thinking)
    assert record["reasoning"] == thinking.strip()
    assert acceptance_problem(record) == "template_token"


def test_thinking_is_checked_for_size_but_not_for_scratchpad_artefacts():
    big = make_record(instruction="Q", output="A fine answer.", meta={}, reasoning="x" * (MAX_TEXT_CHARS + 1))
    assert acceptance_problem(big) == "reply_too_large"
    # a reasoning model restates the question, quotes the directions and drafts code without closing it
    scratch = ("Question: what is 17 + 25? Think it through step by step inside the tags, they say.\n"
               "```python\nprint(17 + 25)\n")
    assert acceptance_problem(make_record(instruction="What is 17 + 25?", output="42", meta={},
                                          reasoning=scratch)) is None
    # without thinking, an answer about the tags themselves is no reasoning record's business
    assert acceptance_problem(make_record(instruction="What does <think> do in Qwen3?", meta={},
                                          output="It opens the model's thinking; </think> closes it.")) is None
