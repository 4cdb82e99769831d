"""Knowledge QA grounded in documents: chunking, parsing, each filter's rejection reason, dedup, the quote check,
decontamination and RAFT rendering, against a scripted teacher; one run on the embedded teacher."""

from __future__ import annotations

import itertools
import json
import shutil
from collections import Counter

import pytest
from helpers import ROOT, distill, expected_exit, read_jsonl, write
from scripted_replies import KNOWLEDGE_RULES

from distill.io.documents import chunk_words
from distill.recipes.knowledge_qa.parse import quotes_chunk
from distill.recipes.knowledge_qa.recipe import CHECK
from distill.recipes.shared.qa_pairs_parse import parse_pairs
from distill.run.stage import Rejected


def test_chunks_overlap_and_cover_the_text():
    words = " ".join(f"w{i}" for i in range(25))
    chunks = chunk_words("d", words, size=10, overlap=3)
    # one sentence longer than a chunk is cut between words; each chunk after the first repeats the last 3 words
    # of the one before; the four chunks are evened out (9, 9, 9, 7 words) rather than ending on a 1-word tail
    assert [c.text.split()[0] for c in chunks] == ["w0", "w6", "w12", "w18"]
    assert chunks[-1].text.split()[-1] == "w24" and all(len(c.text.split()) <= 10 for c in chunks)
    assert all(a.text.split()[-3:] == b.text.split()[:3] for a, b in itertools.pairwise(chunks))


def test_parsers():
    reply = ("Q1 [factual]: When did it open?\nA1: In 1932.\n\n"
             "Q2 [yes/no]: Is it wooden?\nA2: Yes, \"an insulated wooden box\".")
    pairs = parse_pairs(reply)
    assert [(p.kind, p.question, p.answer) for p in pairs] == [
        ("factual", "When did it open?", "In 1932."), ("yes/no", "Is it wooden?", 'Yes, "an insulated wooden box".')]
    assert CHECK.parse('{"supported": "yes", "standalone": "No ", "answerable": true}').passed() == {
        "supported": True, "standalone": False, "answerable": True}
    for unread in ("looks fine", '{"supported": "yes", "standalone": "maybe", "answerable": "yes"}',
                   '{"supported": "yes", "standalone": "no"}'):
        with pytest.raises(Rejected, match="judge_unparseable"):
            CHECK.parse(unread)
    chunk = "It is an insulated wooden box,   60 centimetres wide."
    assert quotes_chunk('Yes: "It is an insulated wooden box".', chunk)
    assert not quotes_chunk('Yes: "a metal box that is insulated".', chunk)


def _cfg(tmp_path, url, docs, extra=""):
    return write(tmp_path / "r.yaml", f"""recipe: knowledge_qa
teacher: {{provider: openai, model: m, base_url: {url}}}
out: {tmp_path / 'run'}
options:
  documents: {docs}
  chunk_words: 60
  overlap_words: 10
  decontaminate: [{ROOT / 'recipes' / 'data' / 'benchmark_questions.jsonl'}]
{extra}""")


def test_knowledge_qa_filters_against_a_scripted_teacher(tmp_path, teacher_server):
    teacher_server.configure(rules=KNOWLEDGE_RULES)
    docs = shutil.copytree(ROOT / "recipes" / "data" / "docs", tmp_path / "docs")
    res = distill("run", str(_cfg(tmp_path, teacher_server.url, docs)), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    gen = [b for b in teacher_server.bodies() if "Read the passage" in b["messages"][0]["content"]]
    manifest = json.loads((out / "manifest.json").read_text())
    chunks = manifest["knowledge"]["chunks"]
    assert manifest["knowledge"]["documents"] == 2 and len(gen) == chunks > 2
    prompt = gen[0]["messages"][0]["content"]
    assert "write 4 question-answer pairs" in prompt and "multi-step reasoning" in prompt
    assert len(prompt.split("Passage:")[1].split()) <= 60

    reasons = Counter(r["reason"] for r in read_jsonl(out / "rejected.jsonl"))
    # per chunk: Q1 kept; Q2 (same text in every chunk) judged not standalone once, then an exact duplicate;
    # Q3 overlaps the benchmark; Q4 repeats Q1; Q5 unfaithful; Q6's verdict is unreadable
    assert reasons == {"not_standalone": 1, "exact_duplicate_question": 2 * chunks - 1,
                       "benchmark_overlap": chunks, "unfaithful": chunks, "judge_unparseable": chunks}
    data = read_jsonl(out / "data.jsonl")
    assert len(data) == chunks and all(r["meta"]["checks"] == {"supported": True, "standalone": True,
                                                               "answerable": True} for r in data)
    assert manifest["dedup"]["exact"] == 2 * chunks - 1
    assert manifest["decontamination"]["removed"] == chunks


def test_quote_requirement_and_raft_context(tmp_path, teacher_server):
    teacher_server.configure(rules=KNOWLEDGE_RULES)
    docs = ROOT / "recipes" / "data" / "docs" / "solar_cooker.md"  # outside tmp_path: allowed by files_root
    cfg = _cfg(tmp_path, teacher_server.url, docs, "  require_quote: true\n  raft: {p: 1.0, distractors: 2}\n"
               f"files_root: {ROOT / 'recipes'}\n")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    reasons = Counter(r["reason"] for r in read_jsonl(out / "rejected.jsonl"))
    assert reasons["no_verbatim_quote"] > 0
    data = read_jsonl(out / "data.jsonl")
    assert data and all('"reaches between 120 and 150 degrees"' in r["output"] for r in data)
    for r in data:
        assert r["input"].count("<DOCUMENT>") == 3 and r["meta"]["raft"]["oracle_included"]
        assert r["messages"][0]["content"].startswith(r["instruction"])


def test_missing_documents_folder_is_named(tmp_path, teacher_server):
    res = distill("run", str(_cfg(tmp_path, teacher_server.url, tmp_path / "nope")), "--no-progress")
    assert res.returncode == 2 and "nope does not exist" in res.stderr


@pytest.mark.slow
def test_knowledge_qa_on_the_embedded_teacher(tmp_path):
    pytest.importorskip("llama_cpp")
    res = distill("run", str(ROOT / "recipes" / "knowledge_qa.yaml"), "--num", "1", "--out", str(tmp_path / "run"),
                  "--no-progress", timeout=900)
    assert res.returncode == expected_exit(tmp_path / "run"), res.stderr
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["knowledge"]["chunks"] == 1
    rows = read_jsonl(tmp_path / "run" / "data.jsonl") + read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert rows  # every generated pair is either kept or rejected with a reason


def test_the_same_seed_gives_the_same_dataset_whatever_order_replies_arrive_in(tmp_path, teacher_server):
    # every chunk asks the same Q2: which chunk keeps it (and has it judged) must not depend on arrival order
    docs = shutil.copytree(ROOT / "recipes" / "data" / "docs", tmp_path / "docs")
    outputs = []
    for k in range(3):
        teacher_server.configure(rules=KNOWLEDGE_RULES, jitter=0.05, seed=k)  # a different arrival order each time
        cfg = _cfg(tmp_path / f"r{k}", teacher_server.url, docs, f"files_root: {tmp_path}\n")
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        outputs.append([(tmp_path / f"r{k}" / "run" / n).read_bytes() for n in ("data.jsonl", "rejected.jsonl")])
    assert outputs[0] == outputs[1] == outputs[2]
    first_q2 = [r for r in read_jsonl(tmp_path / "r0" / "run" / "rejected.jsonl")
                if r["item"].get("question") == "Does the passage mention it?"]
    assert first_q2[0]["reason"] == "not_standalone" and first_q2[0]["item"]["chunk"] == 0


def test_turns_pass_in_index_order_even_when_an_item_fails():
    import asyncio

    from distill.engine.in_order import InOrder

    async def main() -> list[int]:
        turns, seen = InOrder(), []

        async def item(i: int, delay: float) -> None:
            await asyncio.sleep(delay)
            async with turns.turn(i):
                if i == 1:
                    raise RuntimeError("item 1 broke")
                seen.append(i)

        results = await asyncio.gather(*(item(i, d) for i, d in enumerate([0.03, 0.0, 0.02, 0.01])),
                                       return_exceptions=True)
        assert isinstance(results[1], RuntimeError)
        return seen

    assert asyncio.run(main()) == [0, 2, 3]
