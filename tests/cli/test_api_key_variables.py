"""An API key variable the config names must be set, even for a `base_url`; with no variable named, a `base_url`
(a local server) needs no key. Checked by `validate` and by `run` before anything is written, naming the file,
line and key; the key's value is never shown."""

from __future__ import annotations

from helpers import distill, read_jsonl, recipe_yaml, write, write_instructions

KEY = "sk-distill-test-9876543210fedcbaSECRET"


def test_an_unset_variable_the_config_names_fails_validate_and_run_at_its_line(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 3)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra="api_key_env: MY_UNSET_KEY")
    line = cfg.read_text().splitlines().index("  api_key_env: MY_UNSET_KEY") + 1
    expected = f"{cfg}:{line}: teacher.api_key_env: the environment variable MY_UNSET_KEY is not set"
    for command in (["validate", str(cfg)], ["run", str(cfg), "--no-progress"]):
        res = distill(*command, env={"MY_UNSET_KEY": ""})
        assert res.returncode == 2, (command, res.stdout, res.stderr)
        assert expected in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
    assert not out.exists()  # nothing written
    assert teacher_server.stats()["answered"] == 0

    res = distill("run", str(cfg), "--no-progress", env={"MY_UNSET_KEY": KEY})  # once set, the run goes
    assert res.returncode == 0, res.stderr
    assert len(read_jsonl(out / "data.jsonl")) == 3
    assert KEY not in res.stdout + res.stderr
    assert not any(KEY.encode() in p.read_bytes() for p in out.rglob("*") if p.is_file())


def test_a_base_url_with_no_variable_named_still_needs_no_key(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    assert distill("validate", str(cfg)).returncode == 0
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 2


def test_the_judges_unset_variable_is_named_and_the_teachers_key_is_not_shown(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: '{teacher_server.url}', api_key_env: MY_TEACHER_KEY}}
judge:
  provider: anthropic
  model: claude-haiku-4-5
  base_url: '{teacher_server.url}'
  api_key_env: MY_JUDGE_KEY
quality: {{rubric: overall}}
input: {{path: {inp}}}
out: {out}
""")
    res = distill("run", str(cfg), "--no-progress", env={"MY_TEACHER_KEY": KEY})
    assert res.returncode == 2, res.stderr
    assert f"{cfg}:7: judge.api_key_env: the environment variable MY_JUDGE_KEY is not set" in res.stderr
    assert KEY not in res.stdout + res.stderr
    assert not out.exists()


def test_a_variable_named_with_set_is_located_at_the_flag(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    res = distill("validate", str(cfg), "--set", "teacher.api_key_env=OTHER_UNSET_KEY")
    assert res.returncode == 2
    assert "--set teacher.api_key_env=OTHER_UNSET_KEY" in res.stderr and "OTHER_UNSET_KEY is not set" in res.stderr
