"""self-instruct against a teacher that answers like SmolLM2-135M on llama.cpp (issue #35, item 3): the server
honours stop strings as llama.cpp does (cut at the first occurrence, at position 0 too), the instances reply
begins by echoing the prompt's `Task:` line, and the 3-token classification verdict can come back cut off."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import ROOT, distill, read_jsonl, write
from scripted_replies import BOOTSTRAP_REPLY

from distill.engine.stop_echo import past_echo
from distill.providers.base import Choice

CLASSIFY = r"Task: Describe the \w+ festival[^\n]*\nIs it classification\?$"
INSTANCES = r"Task: (Describe the \w+ festival[^\n]*)$"
ECHOING = "Task: \\1\nExample 1\nInput: spring\nOutput: It is lively.\nExample 2\nOutput: Bring a hat.\n\n" \
          "Task: Name a made-up follow-up task\nExample 1\nOutput: follow-up output"


def _config(tmp_path, url):
    return write(tmp_path / "r.yaml", f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {url}}}
num: 5
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, patience: 3, pool_lag: 5}}
""")


def test_a_reply_that_begins_with_its_stop_string_is_read_past_the_echo(tmp_path, teacher_server):
    teacher_server.configure(stops=True, rules=[{"match": r"Invent a list of new", "reply": BOOTSTRAP_REPLY},
                                                {"match": CLASSIFY, "reply": "No"},
                                                {"match": INSTANCES, "reply": ECHOING}])
    cfg = _config(tmp_path, teacher_server.url)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    data = read_jsonl(out / "data.jsonl")
    # each task's two instances, and nothing of the follow-up task the model went on to invent
    assert len(data) == 10 and {(r["input"], r["output"]) for r in data} == {("spring", "It is lively."),
                                                                              ("", "Bring a hat.")}
    bodies = teacher_server.bodies()
    instances = [b for b in bodies if "Write examples" in b["messages"][0]["content"]]
    assert [b.get("stop") for b in instances].count(["Example 6", "Task:"]) == 5  # as configured, then
    assert [b.get("stop") for b in instances].count(None) == 5  # once more without stops, for the echo only
    assert all(b.get("stop") for b in bodies if b not in instances)  # replies with text were not asked again
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["usage"]["teacher"]["stop_echoes"] == 5

    # the same command again: the cut replies come from the cache, nothing is sent
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(teacher_server.bodies()) == len(bodies)
    assert len(read_jsonl(out / "data.jsonl")) == 10


def test_a_cut_off_classification_verdict_is_unreadable_not_no(tmp_path, teacher_server):
    teacher_server.configure(stops=True, rules=[{"match": r"Invent a list of new", "reply": BOOTSTRAP_REPLY},
                                                {"match": CLASSIFY, "reply": "Decision:", "finish_reason": "length"},
                                                {"match": INSTANCES, "reply": ECHOING}])
    res = distill("run", str(_config(tmp_path, teacher_server.url)), "--no-progress")
    out = tmp_path / "run"
    rejected = [r for r in read_jsonl(out / "rejected.jsonl") if r["stage"] == "classify"]
    assert Counter(r["reason"] for r in rejected) == {"unreadable_verdict": 5}
    assert "cut off at the token limit" in rejected[0]["detail"] and rejected[0]["raw"] == "Decision:"
    assert not any("Write examples" in b["messages"][0]["content"] for b in teacher_server.bodies())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["classify"]["rejected"] == {"unreadable_verdict": 5}
    assert res.returncode == 1  # nothing was made: said on the console, not exit 0
    assert "unreadable_verdict" in res.stderr


def test_past_echo_strips_leading_stops_and_cuts_at_the_next():
    stops = ["Example 6", "Task:"]
    assert past_echo(Choice(text="Task: x\nExample 1\nOutput: y\nTask: z", finish_reason="stop"), stops).text == \
        "x\nExample 1\nOutput: y\n"
    assert past_echo(Choice(text="\n\n\n\n9. a\n10. b\n\nBye", finish_reason="stop"), ["\n\n"]).text == "9. a\n10. b"
    cut = past_echo(Choice(text="Task: no end in sight", finish_reason="length"), stops)
    assert (cut.text, cut.finish_reason) == ("no end in sight", "length")
    assert past_echo(Choice(text="Task:", finish_reason="stop"), stops).text == ""


def test_a_labelled_verdict_is_read_and_a_cut_label_is_not():
    """SmolLM2 answers the classification question "Decision: Yes" (seen with 8 tokens): the label is read past.
    "Decision:" alone, cut at the token limit, stays unreadable, never a silent "no"."""
    from distill.quality.replies import UnreadableReply
    from distill.recipes.shared.yes_no_verdict import read_verdict

    assert read_verdict("Decision: Yes", "stop") is True and read_verdict("Answer: no.", "stop") is False
    for cut in ("Decision:", "The answer to", "Decision: Nothing"):
        with pytest.raises(UnreadableReply):
            read_verdict(cut, "length")


@pytest.mark.parametrize("reply, verdict", [
    ("Yes", True), ("No.", False),                                             # plain
    ("Sure! Yes, it is a classification task.", None),                          # chatty lead-in: not read as yes
    ("**Decision:** No", False), ("## Answer: Yes", True),                       # markdown
    ("<think>It sorts reviews into two labels.</think>\nYes", True),            # a reasoning block
    ("<think>It sorts reviews into", None),                                     # a reasoning block cut off
    ("Yes\n\nThat is because the task picks one of a fixed set of labels.", True),  # trailing remark
    ("Decis", None), ("", None),                                                # truncated
    ("[" * 5000 + "yes", None), ("9" * 5000, None), ("```python\nprint('Yes')\n```", None),  # hostile, code
])
def test_verdict_replies_in_every_style_read_or_stay_unreadable(reply, verdict):
    from distill.quality.replies import UnreadableReply
    from distill.recipes.shared.yes_no_verdict import read_verdict

    if verdict is None:
        with pytest.raises(UnreadableReply):
            read_verdict(reply, "length")
    else:
        assert read_verdict(reply, "stop") is verdict
