"""The magpie recipe: queries drawn from the model's own pre-query template through raw completions — against the
scripted server's /v1/completions and /apply-template, through transformers, and on the embedded SmolLM2."""

from __future__ import annotations

import json

import pytest
from fake_teacher import FakeTeacher
from helpers import distill, expected_exit, read_jsonl, write

from distill.recipes.magpie.pre_query import SENTINEL, split_rendered
from distill.text.query_checks import is_incomplete, language_of, query_rejection, repetition_share

PREFIX = "<|im_start|>system\nAsk about algorithms.<|im_end|>\n<|im_start|>user\n"
TAG_GOOD = {"match": "You are rating a request", "reply": '{"difficulty": "medium", "quality": "good"}'}


def _recipe(tmp_path, url, out, options: str, transport: str = "http"):
    return write(tmp_path / "m.yaml", f"""recipe: magpie
teacher: {{provider: openai, model: fake-model, base_url: {url}, transport: {transport}, timeout: 5}}
out: {out}
seed: 3
options: {{{options}}}
""")


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["http", "sdk"])
def test_queries_come_from_the_pre_query_prefix_and_are_answered(tmp_path, transport):
    rules = [{"match": r"^<\|im_start\|>system", "reply": "Which sorting algorithm suits dataset {h} best, and why?"},
             TAG_GOOD, {"match": "^Which sorting", "reply": "Merge sort, because {h} is large."}]
    out = tmp_path / "run"
    cfg = _recipe(tmp_path, "{url}", out, "count: 5, system: Ask about algorithms.", transport)
    with FakeTeacher(raw=True, rules=rules) as server:
        cfg.write_text(cfg.read_text().replace("{url}", server.url))
        res = distill("run", str(cfg))
        assert res.returncode == 0, res.stderr
        assert "5 accepted, 0 rejected, 0 failed" in res.stdout
        bodies = server.bodies()
        raw = [b for b in bodies if "prompt" in b]
        chats = [b for b in bodies if "messages" in b]
        again = distill("run", str(cfg))  # every call, raw ones included, is cached exactly once
        assert again.returncode == 0 and "0 new" in again.stdout, again.stdout
        assert len(server.bodies()) == len(bodies)

    assert len(raw) == 5 and {b["prompt"] for b in raw} == {PREFIX}  # the template's own prefix, nothing more
    assert all(b["temperature"] == 1.0 and b["top_p"] == 1.0 and "<|im_end|>" in b["stop"] for b in raw)
    assert len({b["seed"] for b in raw}) == 5  # one seed per query: five different draws
    answers = [b for b in chats if b["messages"][-1]["content"].startswith("Which sorting")]
    assert len(answers) == 5 and all(b["temperature"] == 0.0 for b in answers)
    assert all(b["messages"][0] == {"role": "system", "content": "Ask about algorithms."} for b in answers)

    rows = read_jsonl(out / "data.jsonl")
    assert [r["meta"]["index"] for r in rows] == list(range(5))
    first = rows[0]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]  # keep_system is off by default
    assert first["instruction"].startswith("Which sorting") and first["output"].startswith("Merge sort")
    assert first["meta"]["tags"] == {"difficulty": "medium", "quality": "good"}
    assert first["meta"]["scores"] == {"magpie.difficulty": 3, "magpie.quality": 4}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["magpie"]["pre_query_template"] == PREFIX
    assert manifest["dedup"] == {"checked": 5, "exact": 0, "near": 0}


def test_duplicates_and_low_quality_queries_are_rejected_with_reasons(tmp_path):
    rules = [{"match": r"^<\|im_start\|>", "reply": "Tell me a fun fact about octopuses, please."},
             {"match": "You are rating a request", "reply": '{"difficulty": "easy", "quality": "poor"}'}]
    out = tmp_path / "run"
    with FakeTeacher(raw=True, rules=rules) as server:
        res = distill("run", str(_recipe(tmp_path, server.url, out, "count: 3")))
    assert res.returncode == 1, res.stderr  # nothing accepted: said, exit 1
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [(r["stage"], r["reason"]) for r in rejected] == [
        ("tag", "low_quality"), ("dedup", "exact_duplicate"), ("dedup", "exact_duplicate")]
    assert rejected[0]["item"]["tags"]["quality"] == "poor"
    assert read_jsonl(out / "data.jsonl") == []


def test_the_template_is_read_through_vllm_tokenize_when_there_is_no_apply_template(tmp_path):
    rules = [{"match": r"^<\|im_start\|>user\n$", "reply": "How do tides depend on the moon's orbit {h}?"}]
    out = tmp_path / "run"
    with FakeTeacher(raw="vllm", rules=rules) as server:
        res = distill("run", str(_recipe(tmp_path, server.url, out, "count: 2, tags: false")))
        raw = [b["prompt"] for b in server.bodies() if "prompt" in b]
    assert res.returncode == 0, res.stderr
    assert "2 accepted" in res.stdout
    assert raw == ["<|im_start|>user\n"] * 2  # no system turn: the prefix is the user header alone


def test_a_chat_only_endpoint_is_refused_with_a_message(tmp_path):
    out = tmp_path / "run"
    with FakeTeacher() as server:  # serves /v1/chat/completions only (given a template, it still cannot continue it)
        res = distill("run", str(_recipe(tmp_path, server.url, out, "count: 2, chat_template: chatml")))
        assert server.stats()["answered"] == 0
    assert res.returncode == 1
    assert "serves chat only" in res.stderr and "/v1/completions" in res.stderr
    assert "Traceback" not in res.stderr and not (out / "data.jsonl").exists()


@pytest.mark.slow
def test_the_template_comes_from_the_tokenizer_config_through_transformers(tmp_path):
    from tiny_models import build_causal_lm

    model = build_causal_lm(tmp_path / "tiny")
    out = tmp_path / "run"
    cfg = write(tmp_path / "m.yaml", f"""recipe: magpie
teacher: {{provider: transformers, path: {model}}}
out: {out}
options: {{count: 2, tags: false, language: null, min_words: 1, max_repetition: 1.0, drop_incomplete: false,
          query: {{max_tokens: 8}}, answer: {{max_tokens: 8}}}}
""")
    res = distill("run", str(cfg))
    assert res.returncode == expected_exit(out), res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["magpie"]["pre_query_template"] == "<|user|>"  # tiny_models.CHAT_TEMPLATE, cut at the user
    assert manifest["usage"]["teacher"]["answered"] >= 2


@pytest.mark.slow  # 23 s with one llama.cpp thread; 447 s with two on a 2-core box at load 16
def test_shipped_magpie_recipe_runs_on_the_embedded_smollm2(tmp_path):
    out = tmp_path / "run"
    res = distill("run", "recipes/magpie.yaml", "--num", "2", "--out", str(out), timeout=900)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["magpie"]["pre_query_template"].startswith("<|im_start|>system\n")  # SmolLM2's GGUF template
    assert manifest["magpie"]["pre_query_template"].endswith("<|im_start|>user\n")
    rows = read_jsonl(out / "data.jsonl")
    assert rows, (out / "rejected.jsonl").read_text()
    assert all(r["instruction"] and r["output"] and r["meta"]["tags"] for r in rows)
    assert all(SENTINEL not in r["instruction"] and "<|im_" not in r["instruction"] for r in rows)


def test_pre_query_prefix_and_stop_from_rendered_templates():
    llama3 = (f"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{SENTINEL}<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n")
    pq = split_rendered(llama3, "t")
    assert pq.prefix == "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" and pq.stop == ["<|eot_id|>"]
    assert split_rendered(f"<s>[INST] {SENTINEL} [/INST]", "t").stop == ["[/INST]"]
    with pytest.raises(Exception, match="did not keep the user message"):
        split_rendered("<s>[INST] hello [/INST]", "t")


def test_query_filters():
    assert language_of("How do I reverse a linked list in place without extra memory?") == "en"
    assert language_of("¿Cómo puedo aprender a programar en Python rápidamente y sin gastar dinero?") == "other"
    assert language_of("如何在不使用额外内存的情况下反转链表？") == "other"
    assert is_incomplete("Summarise the following text:") and not is_incomplete("Summarise this text.")
    assert repetition_share("the cat sat on the mat " * 4) > 0.5 > repetition_share("a b c d e f g h")
    opts = {"min_words": 3, "max_words": 50, "language": "en", "max_repetition": 0.3, "drop_incomplete": True}
    assert query_rejection("Hi there", **opts) == "too_short"
    assert query_rejection("List three facts about the following:", **opts) == "incomplete"
    assert query_rejection("Write a haiku about the sea.", **opts) is None
