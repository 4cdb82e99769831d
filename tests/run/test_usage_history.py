"""The manifest's usage is the run folder's whole history (issue #35, item 8): a cached re-run keeps the tokens
and cost its answers were paid for (an unknown price stays unknown, never $0.0), a re-run that asks for more adds
what it paid, and each role's `this_run` says what the latest run alone paid."""

from __future__ import annotations

import json

from helpers import distill, write


def _cfg(tmp_path, url, price=""):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}?"}) + "\n"
                                               for i in range(4)))
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}, timeout: 5{price}}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")


def _usage(tmp_path):
    return json.loads((tmp_path / "run" / "manifest.json").read_text())["usage"]["teacher"]


def test_a_cached_rerun_keeps_the_tokens_and_the_unknown_cost(tmp_path, teacher_server):
    cfg = _cfg(tmp_path, teacher_server.url)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    first = _usage(tmp_path)
    assert first["prompt_tokens"] > 0 and first["completion_tokens"] > 0 and first["cost_usd"] is None

    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert teacher_server.stats()["answered"] == 4  # nothing asked again
    again = _usage(tmp_path)
    assert (again["prompt_tokens"], again["completion_tokens"], again["cost_usd"]) == (
        first["prompt_tokens"], first["completion_tokens"], None)
    assert again["this_run"] == {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
    assert (again["answered"], again["cache_hits"], again["answered_all_runs"]) == (0, 4, 4)
    card = (tmp_path / "run" / "README.md").read_text()
    assert f"| {first['prompt_tokens']} | {first['completion_tokens']} | unknown |" in card


def test_a_larger_rerun_adds_what_it_paid_to_what_was_paid_before(tmp_path, teacher_server):
    cfg = _cfg(tmp_path, teacher_server.url, ", price: {prompt_per_mtok: 1000, completion_per_mtok: 2000}")
    assert distill("run", str(cfg), "--no-progress", "--num", "2").returncode == 0
    first = _usage(tmp_path)
    assert distill("run", str(cfg), "--no-progress").returncode == 0  # all 4 rows: 2 cached, 2 new
    second = _usage(tmp_path)
    new = second["this_run"]
    assert second["prompt_tokens"] == first["prompt_tokens"] + new["prompt_tokens"] and new["prompt_tokens"] > 0
    assert second["completion_tokens"] == first["completion_tokens"] + new["completion_tokens"]
    cost = (second["prompt_tokens"] * 1000 + second["completion_tokens"] * 2000) / 1e6
    assert second["cost_usd"] == round(cost, 6) and cost > 0
    assert (second["answered"], second["cache_hits"], second["answered_all_runs"]) == (2, 2, 4)
    assert distill("run", str(cfg), "--no-progress").returncode == 0  # cached: the same history
    third = _usage(tmp_path)
    assert {k: third[k] for k in ("prompt_tokens", "completion_tokens", "cost_usd", "answered_all_runs")} == {
        k: second[k] for k in ("prompt_tokens", "completion_tokens", "cost_usd", "answered_all_runs")}
