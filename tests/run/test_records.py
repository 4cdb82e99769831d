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
