"""A pilot's time prediction against a server that answers one call at a time (the embedded model, llama-cpp-python's
server): the run's real time is predicted from the pilot's pace, not from max_concurrency calls at once."""

from __future__ import annotations

import json

from helpers import distill, recipe_yaml, write_instructions


def test_the_time_predicted_for_a_one_at_a_time_server_is_the_pilots_pace(tmp_path, teacher_server):
    teacher_server.configure(serial=True, latency=0.08)
    inp = write_instructions(tmp_path / "in.jsonl", 60)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra="max_concurrency: 64")
    res = distill("estimate", str(cfg), "--pilot", "12", "--num", "60", "--no-progress")
    assert res.returncode == 0, res.stderr
    predicted = json.loads((out / "pilot.json").read_text())["prediction"]
    res = distill("run", str(cfg), "--no-progress", "--num", "60")
    assert res.returncode == 0, res.stderr
    real = json.loads((out / "manifest.json").read_text())["wall_seconds"]
    # 48 new calls at 0.08 s each, one at a time: about 4 s. Dividing by max_concurrency predicted ~0.1 s.
    assert real > 3.5
    assert 0.5 * real < predicted["seconds"][1] < 2.5 * real, (predicted, real)
    assert "at the pilot's pace" in distill("estimate", str(cfg), "--pilot", "12", "--num", "60",
                                            "--no-progress").stdout
