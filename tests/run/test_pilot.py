"""A pilot (issue #33, run/pilot.py): `distill estimate RECIPE --pilot K` runs K items for real through the run
folder's cache, and predicts the cost of reaching a target with an interval that holds the real run's cost on a
scripted teacher whose gate keeps a known 1 in 3; the run reuses the pilot's answers and keeps its figures in the
manifest; a role without a price says so; a pilot run again reads the cache and sends nothing."""

from __future__ import annotations

import json
import re

import pytest
from helpers import distill, read_jsonl
from test_target import JUDGE, recipe, rows, yaml_file


def _spent(folder) -> float:
    usage = json.loads((folder / "manifest.json").read_text())["usage"]
    return sum(u["cost_usd"] for u in usage.values())  # over every run of the folder: pilot and run


@pytest.mark.slow  # about 15 s
def test_the_pilots_interval_holds_the_real_cost_of_a_500_record_target(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE)
    inp, kept = rows(tmp_path, 2400, seed=4)
    cfg = yaml_file(tmp_path, "r", recipe(teacher_server.url, inp, tmp_path / "run"))
    res = distill("estimate", str(cfg), "--pilot", "60", "--target", "500", "--no-progress")
    assert res.returncode == 0, res.stderr
    pilot = json.loads((tmp_path / "run" / "pilot.json").read_text())
    assert pilot["items"] == 60 and pilot["accepted"] == sum(i < 60 for i in kept)
    assert teacher_server.stats()["answered"] == 120  # the 60 items, answered and graded
    assert not (tmp_path / "run" / "data.jsonl").exists()  # a pilot keeps no records
    predicted = pilot["prediction"]
    low, point, high = predicted["cost_usd"]
    assert low < point < high
    assert re.search(r"to reach 500 accepted records: about [\d,]+ items \(95%: [\d,]+-[\d,]+\)", res.stdout)
    assert f"total    ${point:.4f} (${low:.4f}-${high:.4f})" in res.stdout, res.stdout
    assert "stage select: " in res.stdout and "judge (openai:fake-model): 1.00 calls per item" in res.stdout

    again = distill("estimate", str(cfg), "--pilot", "60", "--target", "500", "--no-progress")
    assert again.returncode == 0 and teacher_server.stats()["answered"] == 120  # read from the cache
    assert json.loads((tmp_path / "run" / "pilot.json").read_text())["prediction"] == predicted

    res = distill("run", str(cfg), "--no-progress", "--target", "500")
    assert res.returncode == 0, res.stderr
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 500
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    drawn = manifest["records_target"]["items"]
    assert teacher_server.stats()["answered"] == 2 * drawn  # the pilot's 60 items were not paid for again
    real = _spent(tmp_path / "run")
    assert low <= real <= high, (low, point, high, real)
    assert manifest["pilot"]["prediction"] == predicted  # the pilot's figures, in the manifest of the run after it
    shown = distill("show", str(tmp_path / "run"), "-n", "0")
    assert "Pilot of 60 items predicted for 500 accepted records" in " ".join(shown.stdout.split())
    assert f"the folder's runs took {drawn:,} items and ${real:.4f}" in " ".join(shown.stdout.split())


def test_a_role_without_a_price_is_said_and_dry_run_pilot_is_the_same_command(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE)
    inp, _ = rows(tmp_path, 100)
    cfg = recipe(teacher_server.url, inp, tmp_path / "run")
    del cfg["teacher"]["price"]
    path = yaml_file(tmp_path, "r", cfg)
    res = distill("run", str(path), "--dry-run", "--pilot", "10", "--num", "100", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert re.search(r"for 100 items: about \d+ accepted records \(95%: \d+-\d+\)", res.stdout), res.stdout
    assert "cost unknown: no price for this model" in res.stdout and "total    unknown" in res.stdout
    assert json.loads((tmp_path / "run" / "pilot.json").read_text())["prediction"]["cost_usd"] is None
    res = distill("run", str(path), "--pilot", "10")
    assert res.returncode == 2 and "--pilot K goes with --dry-run" in res.stderr
    res = distill("estimate", str(path), "--pilot", "0")
    assert res.returncode == 2 and "--pilot" in res.stderr
    magpie = yaml_file(tmp_path, "m", {"recipe": "magpie", "teacher": cfg["teacher"], "out": str(tmp_path / "m")})
    res = distill("estimate", str(magpie), "--pilot", "5")
    assert res.returncode == 2 and "give --target N (accepted records) or --num N (items)" in res.stderr
    assert teacher_server.stats()["requests"] == 20  # the one pilot of 10 items: answers and grades


def test_the_wilson_interval_holds_the_rates_a_score_test_does_not_reject():
    """Both ends solve (p_hat - p)^2 = z^2 p (1 - p) / n: the rates a 95% score test would just not reject."""
    from distill.run.pilot import Z, wilson

    for successes, trials in ((20, 60), (1, 7), (140, 150)):
        p_hat = successes / trials
        low, high = wilson(successes, trials)
        assert low < p_hat < high
        for p in (low, high):
            assert abs((p_hat - p) ** 2 - Z * Z * p * (1 - p) / trials) < 1e-12
    assert wilson(0, 10)[0] == 0 and abs(wilson(0, 10)[1] - Z * Z / (10 + Z * Z)) < 1e-12
