"""`distill run` under a hard budget (issue #33): a budget that allows about 40 calls stops under it with one
paragraph and exit 4, every answer kept; the same command with a higher budget finishes, having paid in total
what an uninterrupted run pays; a dollar budget with a role of unknown price fails before any call (exit 2);
`distill show` reports spend against the budget."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from helpers import distill, write

JUDGE = [{"match": r"# Response to grade", "reply": '{"rationale": "fine", "score": 8}'}]
TEACHER_PRICE = "price: {prompt_per_mtok: 1000, completion_per_mtok: 2000}"
JUDGE_PRICE = "price: {prompt_per_mtok: 500, completion_per_mtok: 4000}"


def _cfg(tmp_path, url, n, out, judge_price=JUDGE_PRICE):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}?"}) + "\n"
                                               for i in range(n)))
    return write(tmp_path / f"{out}.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}, timeout: 5, max_concurrency: 8, {TEACHER_PRICE}}}
judge: {{provider: openai, model: judge-m, base_url: {url}, timeout: 5{', ' + judge_price if judge_price else ''}}}
quality: {{rubric: overall}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / out}
""")


def _usage(folder):
    return json.loads((folder / "manifest.json").read_text())["usage"]


def _spent(folder):
    """What the folder's usage history (kept in its cache) says it paid, in dollars."""
    with sqlite3.connect(folder / "cache.sqlite") as db:
        history = json.loads(db.execute("SELECT value FROM ledger").fetchone()[0])
    return sum(e["cost_usd"] for e in history.values()), sum(e["answered"] for e in history.values())


@pytest.mark.slow
def test_a_budget_stops_the_run_under_it_and_a_higher_one_finishes_it_for_the_same_total(tmp_path,
                                                                                          teacher_server):
    teacher_server.configure(rules=JUDGE)
    whole = _cfg(tmp_path, teacher_server.url, 60, "whole")
    assert distill("run", str(whole), "--no-progress").returncode == 0
    uninterrupted = _usage(tmp_path / "whole")
    calls = sum(u["answered"] for u in uninterrupted.values())
    assert calls == 120  # 60 answers, 60 judge calls
    per_call = sum(u["cost_usd"] for u in uninterrupted.values()) / calls
    limit = round(40 * per_call, 6)

    cfg = _cfg(tmp_path, teacher_server.url, 60, "run")
    before = teacher_server.stats()["answered"]
    res = distill("run", str(cfg), "--no-progress", "--max-cost", str(limit))
    assert res.returncode == 4, res.stderr
    paragraph = res.stderr.strip()
    assert paragraph.startswith("Budget reached: the run folder has spent $") and "\n" not in paragraph
    assert f"of its ${limit:g} budget" in paragraph and "--max-cost" in paragraph
    assert "run the same command again" in paragraph and str(tmp_path / "run") in paragraph
    spent, answered = _spent(tmp_path / "run")
    said = re.search(r"has spent \$([\d.]+) .* could cost up to \$([\d.]+)", paragraph)
    assert said is not None and float(said.group(1)) == round(spent, 4)
    assert spent <= limit < spent + float(said.group(2))  # stopped under it, at a request that would not fit
    assert 0 < answered < 120
    assert teacher_server.stats()["answered"] - before == answered  # every answer paid for is kept
    assert not (tmp_path / "run" / "manifest.json").exists()
    shown = distill("show", str(tmp_path / "run"))
    assert shown.returncode == 2 and f"Spent so far, over all its runs: ${spent:.4f}" in shown.stderr

    same = distill("run", str(cfg), "--no-progress", "--max-cost", str(limit))  # the same budget: still under it
    assert same.returncode == 4 and _spent(tmp_path / "run")[0] <= limit  # (cheaper calls may still fit)

    res = distill("run", str(cfg), "--no-progress", "--max-cost", str(limit * 10))
    assert res.returncode == 0, res.stderr
    resumed = _usage(tmp_path / "run")
    assert teacher_server.stats()["answered"] - before == 120  # each call paid for once over the three runs
    for role in ("teacher", "judge"):
        keys = ("prompt_tokens", "completion_tokens", "cost_usd", "answered_all_runs")
        assert {k: resumed[role][k] for k in keys} == {k: uninterrupted[role][k] for k in keys}
    total = sum(u["cost_usd"] for u in resumed.values())
    shown = distill("show", str(tmp_path / "run"), "-n", "0")
    assert shown.returncode == 0
    line = next(ln for ln in shown.stdout.splitlines() if ln.startswith("Budget:"))
    assert re.search(rf"spent \${total:.4f} \(\d+%\) of \${limit * 10:g}, over all runs", line), line


def test_a_dollar_budget_with_a_role_of_unknown_price_fails_before_any_call(tmp_path, teacher_server):
    cfg = _cfg(tmp_path, teacher_server.url, 5, "run", judge_price="")
    res = distill("run", str(cfg), "--no-progress", "--max-cost", "5")
    assert res.returncode == 2
    assert "judge's model (openai:judge-m" in res.stderr and "budget: {tokens: N}" in res.stderr
    assert teacher_server.stats()["requests"] == 0 and not (tmp_path / "run").exists()
    from distill.config import load_config
    from distill.engine.budget import check_prices

    check_prices(load_config(cfg)[0].roles(), usd=None)  # a tokens budget needs no price


def test_raising_the_budget_keeps_the_run_fingerprint_and_an_empty_budget_is_refused(tmp_path):
    from distill.config import RunConfig
    from distill.errors import InputError
    from distill.run.fingerprint import run_fingerprint

    base = {"recipe": "respond", "teacher": {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}}
    prints = {run_fingerprint(RunConfig.model_validate({**base, **extra}))
              for extra in ({}, {"budget": {"usd": 5}}, {"budget": {"usd": 10, "tokens": 100_000}})}
    assert len(prints) == 1  # the item logs of a stopped run are replayed by the run that continues it
    from distill.config import load_config

    with pytest.raises(InputError, match="budget: give usd, tokens or both"):
        load_config(write(tmp_path / "r.yaml", "recipe: respond\nbudget: {}\n"))
    with pytest.raises(InputError, match="budget.usd: Input should be greater than 0"):
        load_config(write(tmp_path / "s.yaml", "recipe: respond\nbudget: {usd: -1}\n"))


def test_show_reports_spend_against_the_budget_over_every_role(tmp_path):
    folder = tmp_path / "run"
    usage = {"teacher": {"answered": 3, "cache_hits": 0, "retries": 0, "failed": 0, "prompt_tokens": 600,
                         "completion_tokens": 200, "cost_usd": 1.0},
             "judge": {"answered": 3, "cache_hits": 0, "retries": 0, "failed": 0, "prompt_tokens": 150,
                       "completion_tokens": 50, "cost_usd": 0.25}}
    write(folder / "manifest.json", json.dumps({
        "recipe": "respond", "teacher": {"kind": "openai", "model": "m"}, "seed": 0, "wall_seconds": 1.0,
        "counts": {"accepted": 3, "rejected": 0, "failed": 0}, "stages": {}, "usage": usage,
        "config": {"budget": {"usd": 5, "tokens": 4000}}}))
    res = distill("show", str(folder), "-n", "0")
    assert res.returncode == 0, res.stderr
    assert "Budget: spent $1.2500 (25%) of $5 and 1,000 of 4,000 tokens (25%), over all runs" in res.stdout


def test_max_cost_and_max_tokens_total_override_the_recipes_budget_key_by_key():
    import argparse

    from distill.cli.run_cmd import add_parser, overrides

    sub = argparse.ArgumentParser().add_subparsers()
    add_parser(sub)
    parse = sub.choices["run"].parse_args
    recipe = {"budget": {"usd": 5, "tokens": 1000}}
    assert overrides(parse(["r.yaml", "--max-cost", "7.5"]), recipe)["budget"] == {"usd": 7.5, "tokens": 1000}
    assert overrides(parse(["r.yaml", "--max-tokens-total", "9"]), {})["budget"] == {"tokens": 9}
    assert "budget" not in overrides(parse(["r.yaml"]), recipe)


@pytest.mark.parametrize("judge", ["own model", "the teacher's"])
def test_every_role_reserves_in_the_one_budget(tmp_path, judge):
    import asyncio

    from distill.config import RunConfig
    from distill.engine.budget import Budget, Spend
    from distill.engine.cache import CallCache
    from distill.engine.usage import Usage
    from distill.executors.local import LocalExecutor
    from distill.run.runner import build_models

    spec = {"provider": "openai", "base_url": "http://127.0.0.1:1/v1", "price": {"prompt_per_mtok": 1}}
    roles = {"teacher": {**spec, "model": "t"}, "answer_teacher": {**spec, "model": "a"},
             "reward": {**spec, "model": "r"}, "quality": {"rubric": "overall"}}
    if judge == "own model":
        roles["judge"] = {**spec, "model": "j"}
    cfg = RunConfig.model_validate({"recipe": "respond", "budget": {"usd": 1}, **roles})
    budget = Budget(Spend(usd=1.0), Spend())

    async def go():
        executor = LocalExecutor()
        try:
            return await build_models(cfg, executor, CallCache(tmp_path / "cache.sqlite"), Usage(), budget)
        finally:
            await executor.close()

    models = asyncio.run(go())
    teachers = [models.teacher, models.judge, models.answer_teacher, models.reward.teacher]
    assert [t.role for t in teachers] == ["teacher", "judge", "answer", "reward"]
    assert all(t.budget is budget for t in teachers)
