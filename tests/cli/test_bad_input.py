"""Bad input and refusing teachers: one clear message naming the file/line/key, the right exit code, and no
output folder left behind."""

from __future__ import annotations

import json
import os

import pytest
from helpers import distill, read_jsonl, recipe_yaml, write, write_instructions


def _run(cfg, *extra):
    return distill("run", str(cfg), "--no-progress", *extra)


def test_malformed_yaml_names_file_and_line(tmp_path):
    cfg = write(tmp_path / "r.yaml", "recipe: respond\nteacher: {provider: openai\ninput: x\n")
    res = _run(cfg)
    assert res.returncode == 2
    assert f"{cfg}:" in res.stderr and "invalid YAML" in res.stderr
    assert "Traceback" not in res.stderr


def test_unknown_and_mistyped_keys_name_the_key_path_and_line(tmp_path, instructions):
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher:
  provider: openai
  model: m
  base_url: http://127.0.0.1:9/v1
  max_concurency: 4
generation:
  temperature: hot
input: {{path: {instructions}}}
out: {tmp_path / 'run'}
""")
    res = _run(cfg)
    assert res.returncode == 2
    assert f"{cfg}:6: teacher.max_concurency: unknown key" in res.stderr
    assert f"{cfg}:8: generation.temperature:" in res.stderr
    assert not (tmp_path / "run").exists()


def test_unknown_recipe_option_is_named(tmp_path, instructions):
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\ninput: {{path: {instructions}}}\n"
                                     f"out: {tmp_path / 'run'}\noptions:\n  sampels: 2\n")
    res = _run(cfg)
    assert res.returncode == 2 and f"{cfg}:5: options.sampels: unknown key" in res.stderr


def test_missing_recipe_and_input_files(tmp_path):
    res = _run(tmp_path / "nope.yaml")
    assert res.returncode == 2 and "nope.yaml: file not found" in res.stderr
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\ninput: {{path: missing.jsonl}}\nout: {tmp_path / 'run'}\n")
    res = _run(cfg)
    assert res.returncode == 2 and "missing.jsonl: file not found" in res.stderr
    assert not (tmp_path / "run").exists()


def test_unreadable_input_file(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.mkdir()  # a folder where a file should be: unreadable as a file, for root too
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\ninput: {{path: {inp}}}\nout: {tmp_path / 'run'}\n")
    res = _run(cfg)
    assert res.returncode == 2 and "cannot read" in res.stderr


def test_bad_jsonl_line_and_missing_field_are_reported_by_line(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "ok"}) + "\n{oops\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    res = _run(cfg)
    assert res.returncode == 2 and f"{inp}:2: not valid JSON" in res.stderr
    inp.write_text(json.dumps({"instruction": "ok"}) + "\n" + json.dumps({"prompt": "x"}) + "\n")
    res = _run(cfg)
    assert res.returncode == 2 and f"{inp}:2: field 'instruction' must be a non-empty string" in res.stderr
    assert teacher_server.stats()["requests"] == 0 and not (tmp_path / "run").exists()


def test_empty_input(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", "\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    res = _run(cfg)
    assert res.returncode == 2 and "no input rows" in res.stderr


def test_refused_connection_is_a_teacher_error(tmp_path, instructions):
    cfg = recipe_yaml(tmp_path / "r.yaml", "http://127.0.0.1:9/v1", instructions, tmp_path / "run")
    res = _run(cfg)
    assert res.returncode == 1
    assert "cannot connect to http://127.0.0.1:9/v1" in res.stderr and "Is the server running" in res.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("setting,code_text,hint", [
    ({"api_key": "sk-right"}, "HTTP 401", "api_key_env"),
    ({"models": ["other-model"]}, "404", "Check the model name"),
])
@pytest.mark.parametrize("transport", ["http", "sdk"])
def test_teacher_refusals_stop_with_exit_1_and_advice(tmp_path, instructions, teacher_server, setting, code_text,
                                                      hint, transport):
    teacher_server.configure(**setting)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, instructions, tmp_path / "run",
                      teacher_extra=f"transport: {transport}")
    res = distill("run", str(cfg), "--no-progress", env={"OPENAI_API_KEY": "sk-wrong"})
    assert res.returncode == 1, res.stderr
    assert code_text in res.stderr and hint in res.stderr and "fake-model" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("transport", ["http", "sdk"])
def test_a_prompt_over_the_context_length_rejects_its_item_not_the_run(tmp_path, instructions, teacher_server,
                                                                        transport):
    teacher_server.configure(max_prompt_chars=5)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, instructions, tmp_path / "run",
                      teacher_extra=f"transport: {transport}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr  # the run goes on to the end; nothing accepted: exit 1
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert len(rejected) == 20 and {r["reason"] for r in rejected} == {"context_length"}
    assert "Traceback" not in res.stderr


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can create files in: chmod for a normal user, the immutable flag for root."""
    import subprocess

    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a read-only folder here (chattr failed)")
        yield ro
        subprocess.run(["chattr", "-i", str(ro)])
    else:
        ro.chmod(0o500)
        yield ro
        ro.chmod(0o700)


def test_read_only_output_folder_fails_before_any_call(tmp_path, teacher_server, instructions, read_only_dir):
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, instructions, read_only_dir / "run")
    res = _run(cfg)
    assert res.returncode == 2 and "not writable" in res.stderr and "--out" in res.stderr
    assert teacher_server.stats()["requests"] == 0


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MB tmpfs, filled: a real file system with no room (needs root to mount)."""
    import subprocess

    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)])


def test_full_disk_fails_before_any_call(tmp_path, teacher_server, instructions, full_disk):
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, instructions, full_disk / "run")
    res = _run(cfg)
    assert res.returncode == 2 and "MB free" in res.stderr and str(full_disk) in res.stderr
    assert teacher_server.stats()["requests"] == 0


def test_hosted_openai_without_a_key_says_which_variable(tmp_path, instructions):
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: openai:gpt-4o-mini\ninput: {{path: {instructions}}}\n"
                                     f"out: {tmp_path / 'run'}\n")
    res = _run(cfg)
    assert res.returncode == 2 and "OPENAI_API_KEY" in res.stderr
    assert not (tmp_path / "run").exists()


def test_second_run_into_the_same_folder_is_refused_while_first_runs(tmp_path, teacher_server):
    import subprocess
    import sys
    import time

    from helpers import ROOT

    teacher_server.configure(latency=0.5)
    inp = write_instructions(tmp_path / "in.jsonl", 50)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run",
                      teacher_extra="max_concurrency: 2")
    first = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            if teacher_server.stats()["requests"]:
                break
            time.sleep(0.05)
        res = _run(cfg)
        assert res.returncode == 2 and "another distill run is writing" in res.stderr
    finally:
        first.kill()
        first.wait()


def test_another_recipes_finished_run_is_never_overwritten(tmp_path, teacher_server, instructions):
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, instructions, out)
    assert _run(cfg).returncode == 0
    assert distill("export", str(out)).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"}
    calls = len(teacher_server.bodies())
    other = write(tmp_path / "a.yaml", f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
out: {out}
""")
    res = _run(other)
    assert res.returncode == 2 and "holds a finished 'respond' run" in res.stderr and str(out) in res.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"} == before
    assert len(teacher_server.bodies()) == calls

    # the same recipe again may rebuild the records: the parquet exported from the old ones is removed
    res = _run(cfg)
    assert res.returncode == 0 and "removed data.parquet" in res.stderr
    assert not (out / "data.parquet").exists()
