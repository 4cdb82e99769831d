"""What a user sees while and after a run: every role in the totals, retries by reason while they happen, plain
log lines when stderr is not a terminal, and costs taken from a maintained price table (unknown stays unknown)."""

from __future__ import annotations

import json
import re

from helpers import distill, write

JUDGE = [{"match": r"# Response to grade", "reply": '{"rationale": "fine", "score": 8}'}]


def _cfg(tmp_path, url, n, extra=""):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}?"}) + "\n"
                                               for i in range(n)))
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}, max_retries: 10, timeout: 5}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
{extra}
""")


def test_summary_line_counts_the_judge_too(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE)
    cfg = _cfg(tmp_path, teacher_server.url, 6, "quality: {rubric: overall}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    answered = teacher_server.stats()["answered"]
    assert answered == 12  # 6 answers + 6 judge calls
    # the line counts all 12 calls the server answered, and says which role made them
    assert "calls 12 new, 0 cached" in res.stdout, res.stdout
    assert "teacher 6+0" in res.stdout and "judge 6+0" in res.stdout
    again = distill("run", str(cfg), "--no-progress")
    assert "calls 0 new, 12 cached" in again.stdout, again.stdout


def test_plain_log_lines_off_a_terminal_show_retries_by_reason(tmp_path, teacher_server):
    teacher_server.configure(fail=0.3, seed=7)
    cfg = _cfg(tmp_path, teacher_server.url, 40)
    res = distill("run", str(cfg), env={"DISTILL_LOG_EVERY": "0"})
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stderr.splitlines() if re.match(r"\[\d+s\] respond", line)]
    assert len(lines) >= 10, res.stderr  # one per finished item at DISTILL_LOG_EVERY=0, not only the last
    assert re.search(r"\d+/40 items \([\d.]+/s", lines[0])
    retries = teacher_server.stats()["fail"]
    assert retries > 0
    assert f"{retries} retries (http_500 {retries})" in lines[-1], lines[-1]
    assert f"{retries} retries (http_500 {retries})" in res.stdout  # the final line says the same
    assert "accepted 40, rejected 0, failed 0" in lines[-1]


def test_no_progress_means_silence(tmp_path, teacher_server):
    cfg = _cfg(tmp_path, teacher_server.url, 5)
    res = distill("run", str(cfg), "--no-progress", env={"DISTILL_LOG_EVERY": "0"})
    assert res.returncode == 0 and res.stderr == "", res.stderr


def test_unknown_price_is_recorded_as_unknown_not_zero(tmp_path, teacher_server):
    cfg = _cfg(tmp_path, teacher_server.url, 3)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["usage"]["teacher"]["cost_usd"] is None
    assert manifest["prices"]["teacher"]["source"] == "unknown"
    assert "cost unknown" in res.stdout
    card = (tmp_path / "run" / "README.md").read_text()
    assert "| unknown |" in card

    priced = _cfg(tmp_path, teacher_server.url, 3, "")
    text = priced.read_text().replace("timeout: 5}", "timeout: 5, price: {prompt_per_mtok: 1000, "
                                                    "completion_per_mtok: 1000}}")
    priced.write_text(text.replace(str(tmp_path / "run"), str(tmp_path / "run2")))
    res = distill("run", str(priced), "--no-progress")
    manifest = json.loads((tmp_path / "run2" / "manifest.json").read_text())
    usage = manifest["usage"]["teacher"]
    expected = (usage["prompt_tokens"] + usage["completion_tokens"]) * 1000 / 1e6
    assert usage["cost_usd"] == round(expected, 6) and expected > 0
    assert manifest["prices"]["teacher"] == {"source": "config", "prompt_per_mtok": 1000.0,
                                             "completion_per_mtok": 1000.0}


def test_dry_run_prices_a_hosted_teacher_without_homework(tmp_path, teacher_server):
    cfg = _cfg(tmp_path, teacher_server.url, 10, "quality: {rubric: overall}")
    res = distill("run", str(cfg), "--dry-run", "--teacher", "openai:gpt-4o-mini")
    assert res.returncode == 0, res.stderr
    m = re.search(r"teacher cost: at most ~\$([\d.]+) \(genai-prices price\)", res.stdout)
    assert m and float(m.group(1)) > 0, res.stdout
    assert "judge calls (openai:gpt-4o-mini): up to 10 (1 per candidate)" in res.stdout
    assert re.search(r"judge cost: at most ~\$[\d.]+", res.stdout)
    # a self-hosted server has no list price: said so, not a made-up $0
    res = distill("run", str(cfg), "--dry-run")
    assert "teacher cost: unknown" in res.stdout, res.stdout


def test_price_table_lookup():
    from distill.engine.prices import price_info
    from distill.providers.spec import ProviderSpec

    info = price_info(ProviderSpec(provider="openai", model="gpt-4o-mini"))
    assert info.source == "genai-prices" and info.price is not None
    assert (info.price.prompt_per_mtok, info.price.completion_per_mtok) == (0.15, 0.6)
    assert info.context_tokens and info.context_tokens >= 128_000
    assert price_info(ProviderSpec(provider="local")).price.prompt_per_mtok == 0  # in-process: free
    assert price_info(ProviderSpec(provider="openai", model="no-such-model-xyz")).price is None
