"""`distill status` outside batch mode: a folder that is not there, a folder with no calls, and a run that made
its calls immediately."""

from __future__ import annotations

import json

from helpers import distill, write


def test_status_of_a_missing_folder_or_one_without_calls_is_an_input_error(tmp_path):
    res = distill("status", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no such run folder" in res.stderr
    (tmp_path / "empty").mkdir()
    res = distill("status", str(tmp_path / "empty"))
    assert res.returncode == 2 and "no cache.sqlite" in res.stderr


def test_status_of_an_immediate_run_says_it_has_no_batches(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Task {i}"}) + "\n" for i in range(5)))
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: "
                                     f"{teacher_server.url}}}\ninput: {{path: {inp}}}\nout: {tmp_path / 'run'}\n")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    res = distill("status", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr
    assert "finished; 5 answers in the cache" in res.stdout and "no batches" in res.stdout
