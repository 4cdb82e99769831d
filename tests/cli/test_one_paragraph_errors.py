"""Failures a user can cause that used to end in a traceback, each now one paragraph with its exit code: a
damaged cache.sqlite (`run`, `status`), `distill compare` on run folders whose names hold `$` (matplotlib read
them as math), and `distill report --reference` without scipy installed (the install hint, not
ModuleNotFoundError)."""

from __future__ import annotations

import json

from helpers import distill, write, write_instructions


def _run(tmp_path, server, name="run", n=3):
    inp = write_instructions(tmp_path / f"{name}.jsonl", n)
    out = tmp_path / name
    cfg = write(tmp_path / f"{name}.yaml", f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: "
                                           f"'{server.url}'}}\ninput: {{path: {inp}}}\nout: '{out}'\n")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 0, res.stderr
    return cfg, out


def _one_paragraph(stderr: str) -> str:
    assert "Traceback" not in stderr and stderr.startswith("error: "), stderr
    assert "\n\n" not in stderr.strip(), stderr
    return stderr


def test_a_damaged_cache_header_is_a_message_for_run_and_status(tmp_path, teacher_server):
    cfg, out = _run(tmp_path, teacher_server)
    cache = out / "cache.sqlite"
    for extra in ("-wal", "-shm"):
        (out / f"cache.sqlite{extra}").unlink(missing_ok=True)
    damaged = b"this is not an SQLite header" + cache.read_bytes()[28:]
    for args in (["run", str(cfg), "--no-progress"], ["status", str(out)]):
        cache.write_bytes(damaged)
        res = distill(*args)
        assert res.returncode == 2, res.stderr
        err = _one_paragraph(res.stderr)
        assert str(cache) in err and "not a readable SQLite database" in err and "move it away" in err
        assert cache.read_bytes() == damaged  # left as it was: the user decides what to do with it


def test_compare_runs_whose_names_hold_dollar_signs(tmp_path, teacher_server):
    _, a = _run(tmp_path, teacher_server, name="cost_$0.15_vs_$0.60", n=12)
    _, b = _run(tmp_path, teacher_server, name="cost_$1_vs_$2", n=12)
    res = distill("compare", str(a), str(b), "--out", str(tmp_path / "cmp"), "--embeddings", "none")
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [r["name"] for r in data["runs"]] == ["cost_$0.15_vs_$0.60", "cost_$1_vs_$2"]
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert page.count("cost_$0.15_vs_$0.60") >= 3  # in the verdicts, the table and the plots' legends, as written


def test_report_reference_without_scipy_gives_the_install_hint(tmp_path, teacher_server):
    _, run = _run(tmp_path, teacher_server, n=12)
    ref = write_instructions(tmp_path / "real.jsonl", 12, prefix="Real task")
    blocker = write(tmp_path / "noscipy" / "sitecustomize.py", """\
import sys

class _NoScipy:
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoScipy())
""")
    import os

    path = os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])
    res = distill("report", str(run), "--reference", str(ref), "--embeddings", "none", env={"PYTHONPATH": path})
    assert res.returncode == 2, res.stderr
    err = _one_paragraph(res.stderr)
    assert "scipy" in err and "pip install 'distill[report]'" in err
