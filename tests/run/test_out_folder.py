"""`--out` never destroys a file distill did not write: only a new or empty folder, or distill's own run folder
(marked, or an older run recognised by its manifest), is written into; anything else is refused with exit 2
before any call and before anything is written. `distill export` does not replace files outside the run folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from helpers import distill, read_jsonl, recipe_yaml, write, write_instructions


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _cfg(tmp_path, teacher_server, out: Path | str, n: int = 3) -> Path:
    inp = write_instructions(tmp_path / "inputs" / "in.jsonl", n)
    return recipe_yaml(tmp_path / "recipes" / "r.yaml", teacher_server.url, inp, Path(out))


def test_a_folder_holding_someone_elses_files_is_refused_untouched(tmp_path, teacher_server):
    d = tmp_path / "d"
    write(d / "README.md", "mine\n")
    write(d / "data.parquet", "x\n")
    before = _tree(d)
    cfg = _cfg(tmp_path, teacher_server, d)
    res = distill("run", str(cfg), "--no-progress", "--out", str(d))
    assert res.returncode == 2, res.stderr
    assert "not a distill run folder" in res.stderr and "README.md" in res.stderr
    assert "Traceback" not in res.stderr
    assert _tree(d) == before and sorted(os.listdir(d)) == ["README.md", "data.parquet"]  # nothing added either
    assert teacher_server.stats()["requests"] == 0
    res = distill("validate", str(cfg))  # `out:` in the recipe: validate refuses it too
    assert res.returncode == 2 and "not a distill run folder" in res.stderr


def test_dot_inside_a_repository_is_refused(tmp_path, teacher_server):
    repo = tmp_path / "repo"
    write(repo / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(repo / "README.md", "# my project\n")
    before = _tree(repo)
    cfg = _cfg(tmp_path, teacher_server, "unused")
    res = distill("run", str(cfg), "--no-progress", "--out", ".", cwd=repo,
                  env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert res.returncode == 2, res.stderr
    assert "not a distill run folder" in res.stderr
    assert _tree(repo) == before
    assert teacher_server.stats()["requests"] == 0


def test_the_filesystem_root_is_refused(tmp_path, teacher_server):
    before = sorted(os.listdir("/"))
    cfg = _cfg(tmp_path, teacher_server, "/")
    try:
        res = distill("run", str(cfg), "--no-progress", "--out", "/")
        added = sorted(set(os.listdir("/")) - set(before))
    finally:  # should this ever regress, do not leave a run's files in / for the next test (or person)
        for name in set(os.listdir("/")) - set(before):
            if Path("/", name).is_file() and name.split(".")[0] in {"", "data", "rejected", "failed", "pairs",
                                                                    "manifest", "README", "cache"}:
                Path("/", name).unlink()
    assert res.returncode == 2, res.stderr
    assert "not a distill run folder" in res.stderr
    assert added == []
    assert teacher_server.stats()["requests"] == 0


def test_a_file_given_as_out_is_refused(tmp_path, teacher_server):
    f = write(tmp_path / "notes.txt", "keep me\n")
    res = distill("run", str(_cfg(tmp_path, teacher_server, f)), "--no-progress")
    assert res.returncode == 2 and "is a file" in res.stderr
    assert f.read_text() == "keep me\n"


def test_new_and_empty_folders_are_used_and_marked_and_reruns_resume(tmp_path, teacher_server):
    for out in (tmp_path / "new" / "nested", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        cfg = _cfg(tmp_path, teacher_server, out)
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        assert len(read_jsonl(out / "data.jsonl")) == 3
        marker = json.loads((out / ".distill-run").read_text())
        assert marker["recipe"] == "respond"
        res = distill("run", str(cfg), "--no-progress")  # its own run folder: a re-run resumes it
        assert res.returncode == 0, res.stderr


def test_a_run_folder_made_before_the_marker_is_adopted(tmp_path, teacher_server):
    out = tmp_path / "old-run"
    cfg = _cfg(tmp_path, teacher_server, out)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    (out / ".distill-run").unlink()  # as an older distill left it: manifest, cache, card, data
    (out / "data.parquet").write_bytes(b"exported earlier")
    answered = teacher_server.stats()["answered"]
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert teacher_server.stats()["answered"] == answered  # the cache was adopted with the folder
    assert (out / ".distill-run").is_file()
    assert not (out / "data.parquet").exists()  # distill's own stale export, inside its own folder


def test_export_does_not_replace_files_outside_the_run_folder(tmp_path, teacher_server):
    out = tmp_path / "run"
    assert distill("run", str(_cfg(tmp_path, teacher_server, out)), "--no-progress").returncode == 0
    mine = write(tmp_path / "mine.parquet", "my own file\n")
    res = distill("export", str(out), "--to", str(mine))
    assert res.returncode == 2 and "already exists" in res.stderr
    assert mine.read_text() == "my own file\n"
    res = distill("export", str(out), "--format", "alpaca", "--to", str(mine))
    assert res.returncode == 2 and mine.read_text() == "my own file\n"

    folder = tmp_path / "datasets-here"
    write(folder / "notes.md", "mine\n")
    res = distill("export", str(out), "--save-to-disk", str(folder))
    assert res.returncode == 2 and "not empty" in res.stderr
    assert _tree(folder) == {"notes.md": b"mine\n"} and not (out / "data.parquet").exists()

    saved = tmp_path / "saved"
    assert distill("export", str(out), "--save-to-disk", str(saved)).returncode == 0
    res = distill("export", str(out), "--save-to-disk", str(saved))  # an earlier datasets save: replaced
    assert res.returncode == 0, res.stderr
    res = distill("export", str(out), "--to", str(mine), "--overwrite")
    assert res.returncode == 0, res.stderr
    assert mine.read_bytes().startswith(b"PAR1")


def test_export_never_replaces_the_runs_own_files_or_a_foreign_folders_parquet(tmp_path, teacher_server):
    out = tmp_path / "run"
    assert distill("run", str(_cfg(tmp_path, teacher_server, out)), "--no-progress").returncode == 0
    data = (out / "data.jsonl").read_bytes()
    res = distill("export", str(out), "--format", "alpaca", "--to", str(out / "data.jsonl"))
    assert res.returncode == 2 and "the run's own data.jsonl" in res.stderr
    assert (out / "data.jsonl").read_bytes() == data

    mine = tmp_path / "mine"  # someone's folder that happens to hold a data.jsonl and their own data.parquet
    write(mine / "data.jsonl", data.decode())
    write(mine / "data.parquet", "my parquet\n")
    res = distill("export", str(mine))
    assert res.returncode == 2 and "already exists" in res.stderr
    assert (mine / "data.parquet").read_text() == "my parquet\n"
