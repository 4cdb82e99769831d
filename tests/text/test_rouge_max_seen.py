"""A kept instruction records its real highest ROUGE-L against the pool (`meta.rouge_l_max_seen`), the number
`rouge_score` gives, not the 0.0 the filter's shortcut leaves for texts below the threshold."""

from __future__ import annotations

import json

from helpers import ROOT, distill, read_jsonl, write
from rouge_score import rouge_scorer
from scripted_replies import ALPACA_REPLY

from distill.text.rouge_novelty import NoveltyFilter

SEEDS = ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"


def _reference(text, pool):
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return max(scorer.score(p, text)["rougeL"].fmeasure for p in pool)


def test_best_match_is_rouge_scores_maximum():
    pool = ["Write a short poem about the sea.", "Explain how a bicycle works.", "List three uses of salt."]
    f = NoveltyFilter(0.7)
    for p in pool:
        f.add(p)
    for text in ["Write a funny poem for the mountain club.", "Explain how a car engine works to a child.",
                 "Name the capital of France.", "zzz qqq"]:
        kept, score, j = f.offer(text, exact_score=True)
        assert kept and score == _reference(text, pool)
        assert (j is None) == (score == 0.0)
        pool.append(text)


def test_alpaca_records_the_real_rouge_l_of_kept_instructions(tmp_path, teacher_server):
    teacher_server.configure(rules=[{"match": r"Instruction:$", "reply": ALPACA_REPLY}])
    cfg = write(tmp_path / "r.yaml", f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 6
out: {tmp_path / 'run'}
options: {{seeds: {SEEDS}, in_flight: 3}}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    pool = [json.loads(line)["instruction"] for line in SEEDS.read_text().splitlines() if line.strip()]
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    seen = []
    for record in data:
        expected = round(_reference(record["instruction"], pool), 4)
        assert expected > 0 and record["meta"]["rouge_l_max_seen"] == expected
        seen.append(expected)
        pool.append(record["instruction"])
    assert len(set(seen)) > 1
