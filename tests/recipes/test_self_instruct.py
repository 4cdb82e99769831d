"""self-instruct and Alpaca: prompts as specified, parsing (including cut-off replies), every filter's
rejection reason, against a scripted teacher on a real HTTP server; and one run on the embedded SmolLM2."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import ROOT, distill, read_jsonl, write
from scripted_replies import ALPACA_REPLY, SELF_INSTRUCT_RULES

from distill.recipes.self_instruct.parse import (
    RawInstance,
    conflicting,
    instance_rejection,
    parse_input_first,
    parse_output_first,
)
from distill.recipes.shared.instruction_filters import clean_instruction, instruction_rejection
from distill.recipes.shared.numbered_list_parse import parse_numbered


def test_numbered_continuations_parse_with_or_without_the_open_number():
    assert parse_numbered("Plan a trip.\n10. Name a bird.\n11. Sort the list", 9) == [
        "Plan a trip.", "Name a bird.", "Sort the list"]
    assert parse_numbered("9. Plan a trip.\n10 . Name a bird.", 9) == ["Plan a trip.", "Name a bird."]
    assert parse_numbered("  \n9. Only one", 9) == ["Only one"]
    assert parse_numbered("", 9) == []


def test_instance_parsing_and_filters():
    reply = "Example 1\nInput: 3 + 4\nOutput: 7\nExample 2\nOutput: Seven is prime.\nExample 3\nInput: x\nOutput:"
    assert parse_input_first(reply) == [RawInstance("3 + 4", "7"), RawInstance("", "Seven is prime."),
                                        RawInstance("x", "")]
    reply = "Class label: spam\nInput: Win a prize now\nClass label: not spam\nInput: Lunch at noon?"
    assert parse_output_first(reply) == [RawInstance("Win a prize now", "spam"),
                                         RawInstance("Lunch at noon?", "not spam")]
    assert instance_rejection(RawInstance("a", "")) == "empty_output"
    assert instance_rejection(RawInstance("same", "same")) == "input_equals_output"
    assert instance_rejection(RawInstance("Text:", "ok")) == "truncated_colon"
    assert instance_rejection(RawInstance("in", "out")) is None
    assert conflicting([RawInstance("q", "a"), RawInstance("q", "b")])
    assert not conflicting([RawInstance("", "a"), RawInstance("", "b")])


@pytest.mark.parametrize("text,reason", [
    ("Say hi now", "too_few_words"),
    ("word " * 151, "too_many_words"),
    ("Describe the image of a cat", "blacklist:image"),
    ("Please go to the store and report", "blacklist:go to"),
    ("Write a program that adds two numbers", "write_a_program"),
    ("- Explain the water cycle briefly", "starts_with_punctuation"),
    ("Écris un poème sur la mer", "non_ascii_start"),
    ("Explain why the sky is blue", None),
    ("Imagine mapping a new route home", None),  # "map" is blacklisted as a whole word only
])
def test_instruction_filters(text, reason):
    assert instruction_rejection(clean_instruction(text)) == reason


def test_capitalize_quirk_is_off_by_default():
    assert clean_instruction("  explain  SQL joins:  ") == "Explain  SQL joins".replace("  ", " ")
    assert clean_instruction("explain SQL joins", capitalize_quirk=True) == "Explain sql joins"


def test_self_instruct_against_a_scripted_teacher(tmp_path, teacher_server):
    teacher_server.configure(rules=SELF_INSTRUCT_RULES)
    cfg = write(tmp_path / "r.yaml", f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 10
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, patience: 10, pool_lag: 5}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    bodies = teacher_server.bodies()
    boot = [b for b in bodies if "Invent a list" in b["messages"][0]["content"]]
    assert len(boot) == 15  # 5 productive prompts, then 10 cut off: patience ran out
    first = boot[0]
    assert {k: first[k] for k in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")} == {
        "temperature": 0.7, "top_p": 0.5, "presence_penalty": 2.0, "frequency_penalty": 0.0, "max_tokens": 1024}
    assert first["stop"] == ["\n\n", "\n16", "16.", "16 ."]
    prompt = first["messages"][0]["content"]
    assert [f"{i}." in prompt for i in range(1, 10)] == [True] * 9 and prompt.rstrip().endswith("9.")
    seeds = {json.loads(x)["instruction"] for x in (ROOT / "recipes/data/self_instruct_seeds.jsonl").open()}
    listed = [line.split(". ", 1)[1] for line in prompt.splitlines() if line[:1].isdigit() and ". " in line]
    assert len(listed) == 8 and all(t in seeds for t in listed)  # round 0: only human seeds exist
    # pool_lag 5: prompt s shows what replies 0 .. s-5 added (6 human + up to 2 machine instructions)
    shown = sorted(b["messages"][0]["content"].count("festival") for b in boot)
    assert shown == [0] * 5 + [1] + [2] * 9

    rejected = read_jsonl(out / "rejected.jsonl")
    reasons = Counter(r["reason"] for r in rejected if r["stage"] == "bootstrap")
    assert reasons == {"blacklist:draw": 5, "write_a_program": 5, "starts_with_punctuation": 5,
                       "too_few_words": 5, "rouge_l_above_threshold": 5, "non_ascii_start": 5,
                       "truncated_response": 10}
    classify = [b for b in bodies if "Is it classification?" in b["messages"][0]["content"]]
    assert len(classify) == 5 and classify[0]["max_tokens"] == 3 and classify[0]["temperature"] == 0
    inst = Counter(r["reason"] for r in rejected if r["stage"] == "instances")
    assert inst == {"input_equals_output": 5, "truncated_colon": 5}
    data = read_jsonl(out / "data.jsonl")
    assert len(data) == 10  # 5 instructions x 2 good instances
    assert {(r["input"], r["output"]) for r in data} == {("spring", "It is lively."), ("", "Bring a hat.")}
    assert all(r["meta"]["is_classification"] is False for r in data)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["self_instruct"]["instructions"] == 5 and manifest["bootstrap_prompts"] == 15

    # the same command again: no call; each instruction's instances replay from the run folder, same counts
    files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(teacher_server.bodies()) == len(bodies)
    assert {name: (out / name).read_bytes() for name in files} == files
    again = json.loads((out / "manifest.json").read_text())
    assert again["stages"] == manifest["stages"] and again["self_instruct"] == manifest["self_instruct"]

    import datasets

    assert len(datasets.load_dataset("json", data_files=str(out / "data.jsonl"), split="train")) == 10


def test_alpaca_against_a_scripted_teacher(tmp_path, teacher_server):
    teacher_server.configure(rules=[{"match": r"Instruction:$", "reply": ALPACA_REPLY}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 6
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, in_flight: 3}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    body = teacher_server.bodies()[0]
    assert body["temperature"] == 1.0 and body["top_p"] == 1.0 and body["max_tokens"] == 3072
    assert body["stop"] == ["\n20", "20."]
    prompt = body["messages"][0]["content"]
    assert prompt.count("###") == 4 and prompt.rstrip().endswith("4. Instruction:") and "20 varied tasks" in prompt
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert len(data) == 6
    assert data[0]["input"] == "" and data[0]["output"] == "Zorbia City"  # <noinput> normalised
    assert data[1]["input"] == "Cats sleep a lot."
    reasons = Counter(r["reason"] for r in read_jsonl(tmp_path / "run" / "rejected.jsonl"))
    assert reasons == {"blacklist:music": 2, "unparseable_item": 2}  # the third reply stops at the target
    assert len(teacher_server.bodies()) == 3  # 2 tasks per reply so far: 3 replies in flight are enough


@pytest.mark.slow
def test_self_instruct_on_the_embedded_teacher(tmp_path):
    pytest.importorskip("llama_cpp")
    res = distill("run", str(ROOT / "recipes" / "self_instruct.yaml"), "--num", "3", "--out", str(tmp_path / "run"),
                  "--no-progress", timeout=900)
    # a 135M model may make nothing acceptable out of three tasks: then the run says so and why, exit 1 (#35)
    accepted = sum(1 for _ in (tmp_path / "run" / "data.jsonl").open()) if (tmp_path / "run" / "data.jsonl").exists() \
        else 0
    if accepted:
        assert res.returncode == 0, res.stderr
    else:
        assert res.returncode == 1 and "most rejected:" in res.stderr and "Traceback" not in res.stderr, res.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["self_instruct"]["instructions"] >= 1
    total = sum(1 for _ in (tmp_path / "run" / "data.jsonl").open()) + sum(
        1 for _ in (tmp_path / "run" / "rejected.jsonl").open())
    assert total >= 1
    import datasets

    datasets.load_dataset("json", data_files=str(tmp_path / "run" / "rejected.jsonl"), split="train")


def test_a_reply_with_no_instructions_is_a_rejection_with_the_raw_text(tmp_path, teacher_server):
    teacher_server.configure(rules=[{"match": r"Invent a list of new", "reply": "   "}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 3
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, patience: 5}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1 and "self_instruct stopped short: 0 of 3 instructions" in res.stderr  # made nothing
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert [r["reason"] for r in rejected] == ["no_instructions_parsed"] * 5 and rejected[0]["raw"] == "   "


def _alpaca_prompts(n: int, seed: int = 3) -> list[str]:
    """The first n generation prompts an Alpaca run with this seed sends."""
    from types import SimpleNamespace

    from distill.recipes.alpaca.options import AlpacaOptions
    from distill.recipes.alpaca.recipe import Alpaca

    recipe = Alpaca(None, AlpacaOptions(seeds=str(ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"),
                                        in_flight=n))
    cfg_like = SimpleNamespace(seed=seed, resolve=lambda p: p)
    return [p[0]["content"] for p in recipe.preview(cfg_like, None, n)]  # type: ignore[arg-type]


def test_a_slow_reply_does_not_hold_back_the_other_prompts(tmp_path, teacher_server):
    """Bootstrap prompts run as a sliding window: while one reply is slow, new prompts keep going out (a batch
    of 3 would wait for its slowest member before sending the 4th)."""
    import re

    seeds = ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"
    later = _alpaca_prompts(8)
    prompts = later[:3]
    demos = [line for line in prompts[1].splitlines() if line.startswith("2. Instruction: ")]
    unique = next(d for d in demos if not any(d in p for k, p in enumerate(later) if k != 1))
    teacher_server.configure(rules=[{"match": re.escape(unique), "reply": "nothing here", "delay": 1.5},
                                    {"match": r"Instruction:$", "reply": "nothing here"}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 10
seed: 3
out: {tmp_path / 'run'}
options: {{seeds: {seeds}, in_flight: 3, patience: 8}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1 and "alpaca stopped short: 0 of 10" in res.stderr, res.stderr  # made nothing
    arrivals = sorted(teacher_server.arrivals())
    assert len(arrivals) == 8  # patience: 8 prompts in a row added nothing
    # slot 1 answers after 1.5 s; slot 3 went out as soon as slot 0 was read, long before that
    assert arrivals[3] - arrivals[0] < 1.0
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert [r["item"]["prompt"] for r in rejected] == list(range(8))  # read in prompt order all the same


def test_the_same_seed_gives_the_same_dataset_whatever_order_replies_arrive_in(tmp_path, teacher_server):
    # replies arrive in a random order (latency jitter); the pool that later prompts show, and so every record,
    # must not depend on it
    outputs = []
    for k in range(2):
        # a different arrival order each time
        teacher_server.configure(rules=SELF_INSTRUCT_RULES[1:], jitter=0.05, seed=k)
        cfg = write(tmp_path / f"r{k}.yaml", f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 40
seed: 9
out: {tmp_path / f'run{k}'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, in_flight: 4}}
""")
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        boot = [b for b in teacher_server.bodies() if "Invent a list" in b["messages"][0]["content"]]
        # 36: "festival" in all but the first 4
        assert len(boot) == 40 and sum("festival" in b["messages"][0]["content"] for b in boot) == 36
        outputs.append([(tmp_path / f"run{k}" / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")])
    assert outputs[0] == outputs[1] and outputs[0][0]


def test_replies_in_flight_at_the_target_are_kept_for_a_larger_run(tmp_path, teacher_server):
    # 3 prompts go out together; the first reply reaches the target of 2. The other two were sent (paid for):
    # their answers are cached, so raising the target to 6 needs no new call.
    import re

    first = _alpaca_prompts(3)[0]
    demo = next(line for line in first.splitlines() if line.startswith("1. Instruction: "))
    teacher_server.configure(rules=[{"match": re.escape(demo), "reply": ALPACA_REPLY},  # prompt 0 answers first
                                    {"match": r"Instruction:$", "reply": ALPACA_REPLY, "delay": 0.3}])
    config = f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
seed: 3
num: NUM
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, in_flight: 3}}
"""
    cfg = write(tmp_path / "r.yaml", config.replace("NUM", "2"))
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 2
    assert len(teacher_server.bodies()) == 3 and teacher_server.stats()["abandoned"] == 0
    write(tmp_path / "r.yaml", config.replace("NUM", "6"))
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 6
    assert len(teacher_server.bodies()) == 3  # every answer came from the cache
