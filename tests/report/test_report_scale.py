"""The report on runs larger than its sample, and the run-end report on a re-run: the per-text figures on a
seeded sample that the page and the card state, counts, lengths and benchmark overlap over every record, the
same page byte for byte when built twice, and a re-run that changes nothing leaving the report untouched while
an edited input or a changed report option rebuilds it."""

from __future__ import annotations

import json

import numpy as np
from helpers import distill, write

QUESTION = "A farmer has 17 sheep and all but 9 run away, so how many sheep does the farmer still have left"


def run_config(tmp_path, server, rows, report="{sample: 12}"):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": t}) + "\n" for t in rows))
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {server.url}}}
generation: {{max_tokens: 16}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
report: {report}
""")


def test_a_report_larger_than_its_sample_says_so_and_is_the_same_when_built_twice(tmp_path, teacher_server):
    rows = [f"Describe city number {i} in two sentences" for i in range(35)]
    rows += [f"Solve problem {i}: {QUESTION}?" for i in range(5)]  # benchmark copies, 5 of 40
    cfg = run_config(tmp_path, teacher_server, rows)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    report = json.loads((run / "report.json").read_text())
    assert {k: report["sample"][k] for k in ("rows", "of")} == {"rows": 12, "of": 40}
    assert report["records"] == 40 and report["lengths"]["instructions"]["count"] == 40  # lengths: every record
    assert report["verbs"]["count"] == 12 and report["self_similarity"]["of"] == 12  # per-text: the sample
    assert "sample of 12 of 40 records" in (run / "README.md").read_text()
    assert 'data-rows="12" data-of="40"' in (run / "report.html").read_text()

    bench = write(tmp_path / "bench.jsonl", json.dumps({"question": QUESTION}) + "\n")
    pages, reports = [], []
    for _ in range(2):
        res = distill("report", str(run), "--sample", "12", "--embeddings", "none", "--benchmark", str(bench))
        assert res.returncode == 0, res.stderr
        pages.append((run / "report.html").read_bytes())
        reports.append({k: v for k, v in json.loads((run / "report.json").read_text()).items() if k != "timings"})
    assert pages[0] == pages[1] and reports[0] == reports[1]
    assert b"sample of 12 of 40 records" in pages[0]
    ngram = reports[0]["contamination"][0]["ngram"]  # n-gram overlap reads every record, not the sample
    assert ngram["checked"] == 40 and ngram["contaminated"] == 5
    assert sorted(p["index"] for p in ngram["pairs"]) == [35, 36, 37, 38, 39]


def test_a_rerun_that_changes_nothing_keeps_the_report_and_a_change_rebuilds_it(tmp_path, teacher_server):
    rows = [f"Describe city number {i} in two sentences" for i in range(20)]
    cfg = run_config(tmp_path, teacher_server, rows)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    run = tmp_path / "run"
    files = ("report.html", "report.json", "report.png")

    def state():
        return {f: ((run / f).stat().st_mtime_ns, (run / f).read_bytes()) for f in files}

    first = state()
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert state() == first  # not rewritten: same bytes, same modification time
    assert "## Data report" in (run / "README.md").read_text()  # the card still has the report's section

    rows[7] = "Summarize the history of the printing press in Europe from 1450 to 1600"  # an edited input row
    write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": t}) + "\n" for t in rows))
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    edited = state()
    assert all(edited[f][0] != first[f][0] for f in files)
    assert json.loads((run / "report.json").read_text())["lengths"]["instructions"]["max"] == 13  # was 7

    cfg = run_config(tmp_path, teacher_server, rows, report="{sample: 15}")  # another report option
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert state()["report.html"][0] != edited["report.html"][0]
    assert json.loads((run / "report.json").read_text())["sample"]["rows"] == 15


def test_length_tallies_give_numpys_percentiles_and_the_reservoir_is_seeded_and_uniform():
    from distill.report.lengths import summary
    from distill.report.tally import Reservoir, Tally

    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 100, 1001):
        values = rng.integers(0, 60, n)
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        assert summary(Tally.of(values)) == {"count": n, "mean": round(float(values.mean()), 2), "median": p50,
                                             "p5": p5, "p95": p95, "min": values.min(), "max": values.max()}

    def draw(seed):
        r: Reservoir[int] = Reservoir(100, seed)
        for i in range(10_000):
            r.add(i)
        return r.sample()

    assert draw(0) == draw(0) != draw(1) and len(draw(0)) == 100 and draw(0) == sorted(draw(0))
    counts = np.bincount([i // 1000 for seed in range(50) for i in draw(seed)], minlength=10)
    assert counts.min() > 400 and counts.max() < 600  # 500 expected in each tenth of the stream
