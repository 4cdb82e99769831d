"""A list reply is read up to what the prompt asked for plus a small margin (distill/text/bounded_list.py), and
the rest is one rejection row with its count (issue 29, "One reply multiplies the cost"): the real CLI against
a chatty teacher on 127.0.0.1 that answers with far more items than asked, wrapped as chat models wrap lists."""

from __future__ import annotations

import ast
import json
from collections import Counter

from helpers import ROOT, distill, read_jsonl, write

from distill.text.bounded_list import OVERFLOW_REASON, bounded, list_bound

PAIRS = 500  # the reply held 2,000: each pair read was three judge calls


def _many_pairs(n: int) -> str:
    pairs = "\n\n".join(f"**Q{k} [factual]:** What is fact {k} of the {{h}} device?\n**A{k}:** It is fact {k}."
                        for k in range(1, n + 1))
    return f"Sure! Here are the question-answer pairs:\n\n{pairs}\n\nLet me know if you'd like more!"


def test_bounded_reads_the_asked_items_plus_a_margin_and_counts_the_rest() -> None:
    read = bounded(iter(range(2000)), 2)
    assert read.items == [0, 1, 2, 3] and read.dropped == 1996
    assert read.overflow() == {"asked": 2, "read": 4, "dropped": 1996}
    assert bounded(range(3), 7).overflow() is None and bounded(range(9), 7).dropped == 0
    assert [list_bound(n) for n in (1, 2, 4, 7, 30)] == [3, 4, 6, 9, 36]


def test_knowledge_qa_judges_at_most_the_asked_pairs_of_a_huge_reply(tmp_path, teacher_server):
    teacher_server.configure(rules=[
        {"match": r"Reply with the verdict JSON only",
         "reply": '{"supported": "yes", "standalone": "yes", "answerable": "yes"}'},
        {"match": r"Read the passage and write", "reply": _many_pairs(PAIRS)}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: knowledge_qa
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
out: {tmp_path / 'run'}
files_root: {ROOT / 'recipes'}
options:
  documents: {ROOT / 'recipes' / 'data' / 'docs'}
  chunk_words: 60
  pairs_per_chunk: 2
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    chunks = json.loads((out / "manifest.json").read_text())["knowledge"]["chunks"]
    judged = [b for b in teacher_server.bodies() if "verdict JSON only" in b["messages"][0]["content"]]
    assert len(judged) == chunks * list_bound(2)  # 4 pairs a chunk, not 500
    rejected = read_jsonl(out / "rejected.jsonl")
    assert Counter(r["reason"] for r in rejected) == {OVERFLOW_REASON: chunks}  # one row a reply, not 496
    assert {r["detail"]["dropped"] for r in rejected} == {PAIRS - list_bound(2)}
    assert len(read_jsonl(out / "data.jsonl")) == chunks * list_bound(2)


def test_self_instruct_writes_one_row_for_a_reply_of_thousands_of_lines(tmp_path, teacher_server):
    lines = "\n".join(f"{k}. Describe the {{h}} festival number {k} in three sentences." for k in range(9, 2009))
    teacher_server.configure(rules=[
        {"match": r"Invent a list of new", "reply": f"Great question! Below is my answer:\n\n{lines}"},
        {"match": r"Is it classification\?$", "reply": "No"},
        {"match": r"Task: Describe", "reply": "Example 1\nInput: spring\nOutput: It is lively."}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: self_instruct
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 30
out: {tmp_path / 'run'}
options: {{seeds: {ROOT / 'recipes' / 'data' / 'self_instruct_seeds.jsonl'}, patience: 3, in_flight: 1}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    boot = [r for r in rejected if r["stage"] == "bootstrap"]
    overflow = [r for r in boot if r["reason"] == OVERFLOW_REASON]
    prompts = json.loads((tmp_path / "run" / "manifest.json").read_text())["bootstrap_prompts"]
    assert len(overflow) == prompts and all(r["detail"] == {"asked": 7, "read": 9, "dropped": 2000 - 9}
                                            for r in overflow)
    assert len(boot) <= prompts * (list_bound(7) + 1)  # at most the items read, and the one overflow row


LIST_PARSERS = {"parse_numbered", "parse_questions", "parse_contexts", "parse_pairs", "parse_alpaca",
                "parse_input_first", "parse_output_first"}


def test_every_recipe_reads_a_parsed_list_through_bounded() -> None:
    """A recipe that reads a list parser's result without `bounded(...)` (directly or through a helper that
    calls it) would let one reply multiply the cost again."""
    unbounded = []
    for path in sorted((ROOT / "distill" / "recipes").rglob("*.py")):
        if path.name == "parse.py" or path.name.endswith("_parse.py"):  # the parsers themselves
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in LIST_PARSERS:
                if not _read_through_bounded(tree, node):
                    unbounded.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unbounded == []


def _read_through_bounded(tree: ast.AST, call: ast.Call) -> bool:
    """The call's result reaches `bounded(...)` or a method named `_bounded`: as an argument, or through the
    local it is assigned to (which the same function then passes to one of them)."""
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or call not in set(ast.walk(fn)):
            continue
        names: set[str] = set()
        for node in ast.walk(fn):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and call in set(
                    ast.walk(node.value)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and _is_bound(node.func):
                for arg in node.args:
                    if call in set(ast.walk(arg)) or (isinstance(arg, ast.Name) and arg.id in names):
                        return True
    return False


def _is_bound(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "bounded") or (
        isinstance(func, ast.Attribute) and func.attr == "_bounded")
