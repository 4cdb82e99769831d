"""Every shipped recipe against a hostile teacher (tests/hostile_teacher.py): each run and its re-run exit 0 (or
with a one-line error, never a traceback), nothing is executed or written outside the run folder, and no
accepted record carries a NUL byte, a bidi override, an ANSI escape, a runaway reply or code as a math answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ROOT, distill, read_jsonl, write
from hostile_teacher import FORBIDDEN, HostileTeacher

from distill.run.records import MAX_TEXT_CHARS

DATA = ROOT / "recipes" / "data"
RECIPES = {
    "respond": f"""input: {{path: {DATA / 'instructions.jsonl'}}}
num: 8
quality: {{rubric: overall}}""",
    "respond-sdk": f"""input: {{path: {DATA / 'instructions.jsonl'}}}
num: 8""",
    "self_instruct": f"""num: 4
quality: {{rubric: overall}}
options: {{seeds: {DATA / 'self_instruct_seeds.jsonl'}, patience: 3, in_flight: 2}}""",
    "alpaca": f"""num: 4
options: {{seeds: {DATA / 'self_instruct_seeds.jsonl'}, patience: 3, in_flight: 2}}""",
    "evol_instruct": f"""input: {{path: {DATA / 'instructions.jsonl'}}}
num: 3
options: {{rounds: 2}}""",
    "lab": f"""options: {{taxonomy: {ROOT / 'recipes' / 'taxonomy'}, questions_per_seed: 2, contexts_per_seed: 1,
  questions_per_context: 2, max_seeds_per_leaf: 1, chunk_words: 100, pairs_per_chunk: 2}}
files_root: {ROOT / 'recipes'}""",
    "math_qa": f"""input: {{path: {DATA / 'math_problems.jsonl'}, field: problem, input_field: null}}
num: 6
options: {{samples: 4, min_solution_chars: 60, augment: 1}}""",
    "personas": f"""input: {{path: {DATA / 'personas.jsonl'}, field: persona, input_field: null}}
num: 3
options: {{math_samples: 3}}""",
    "magpie": """options: {count: 4}""",
    "knowledge_qa": f"""options: {{documents: {DATA / 'docs'}, chunk_words: 100, overlap_words: 20, pairs_per_chunk: 3}}
files_root: {DATA}""",
}


@pytest.fixture(scope="module")
def hostile():
    with HostileTeacher() as server:
        yield server


def _accepted_problems(record: dict) -> list[str]:
    texts = [m["content"] for m in record["messages"]] + [record["instruction"], record["input"], record["output"]]
    found = [repr(mark) for mark in FORBIDDEN for t in texts if mark in t]
    found += ["huge text" for t in texts if len(t) > MAX_TEXT_CHARS]
    answer = str(record.get("meta", {}).get("answer", ""))
    found += [f"math answer {answer!r}" for bad in ("__import__", "[1][5]") if bad in answer]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("recipe", list(RECIPES))
def test_every_recipe_survives_a_hostile_teacher(recipe, hostile, tmp_path):
    out, cwd = tmp_path / "run", tmp_path / "cwd"
    cwd.mkdir()
    transport = "sdk" if recipe.endswith("-sdk") else "http"  # the official client reads replies its own way
    cfg = write(tmp_path / "r.yaml", f"""recipe: {recipe.split("-")[0]}
name: hostile-{recipe}
teacher: {{provider: openai, model: m, base_url: {hostile.url}, max_retries: 1, timeout: 60, transport: {transport}}}
judge: {{provider: openai, model: j, base_url: {hostile.url}, max_retries: 1, timeout: 60}}
out: {out}
seed: 1
{RECIPES[recipe]}
""")
    before = set(tmp_path.iterdir())
    for attempt in ("first run", "re-run"):
        res = distill("run", str(cfg), "--no-progress", cwd=cwd, timeout=120)
        assert "Traceback" not in res.stderr, f"{attempt}: {res.stderr[-3000:]}"
        assert res.returncode == 0 or res.stderr.strip(), f"{attempt}: exit {res.returncode} without a message"
        for stream in (res.stdout, res.stderr):
            assert not any(mark in stream for mark in FORBIDDEN), f"{attempt} printed a control character"
        assert list(cwd.iterdir()) == [], f"{attempt} wrote into the working directory"
        assert set(tmp_path.iterdir()) <= before | {out}, f"{attempt} wrote next to the run folder"
        assert not (ROOT / "PWNED").exists() and not Path("PWNED").exists()
        if res.returncode == 0:
            for record in read_jsonl(out / "data.jsonl"):
                assert _accepted_problems(record) == [], f"{attempt} accepted {json.dumps(record)[:300]}"
    if recipe == "respond":  # one outcome per instruction, though the server sent 50 choices for some n=1 calls
        outcomes = [len(read_jsonl(out / f"{name}.jsonl")) for name in ("data", "rejected", "failed")
                    if (out / f"{name}.jsonl").exists()]
        assert sum(outcomes) == 8
    if res.returncode == 0:
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["counts"]["rejected"] > 0  # the hostile replies were met and rejected, not skipped


@pytest.mark.slow  # reads what the (slow) recipe runs above asked of the server
def test_the_hostile_teacher_serves_what_it_promises(hostile):
    stats = hostile.stats()
    assert stats["requests"] > 0 and stats["fifty_choices"] > 0 and stats["huge"] > 0 and stats["surrogate"] > 0
