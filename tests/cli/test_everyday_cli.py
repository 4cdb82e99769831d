"""The first hour with distill: command-line overrides, helpful errors, readable `show`, datasets as input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT, distill, read_jsonl, recipe_yaml, write


@pytest.mark.slow
def test_set_and_short_flags_override_the_yaml_typed_and_validated(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hi"}) + "\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    res = distill("run", str(cfg), "--no-progress", "--temperature", "0.2", "--max-tokens", "7",
                  "--set", "teacher.max_concurrency=3", "--set", "options.samples=2")
    assert res.returncode == 0, res.stderr
    body = teacher_server.last()
    assert body["temperature"] == 0.2 and body["max_tokens"] == 7 and body["n"] == 2
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["config"]["teacher"]["max_concurrency"] == 3
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 2

    bad = distill("run", str(cfg), "--set", "generation.temperature=hot")
    assert bad.returncode == 2 and "--set generation.temperature=hot" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
    typo = distill("run", str(cfg), "--set", "generation.temprature=0.1")
    assert typo.returncode == 2 and "did you mean 'temperature'" in typo.stderr, typo.stderr
    malformed = distill("run", str(cfg), "--set", "temperature")
    assert malformed.returncode == 2 and "expected KEY=VALUE" in malformed.stderr


def test_a_misspelt_key_in_the_file_gets_a_suggestion(tmp_path):
    cfg = write(tmp_path / "r.yaml", "recipe: respond\ngeneration: {max_token: 5}\n")
    res = distill("validate", str(cfg))
    assert res.returncode == 2
    assert f"{cfg}:2: generation.max_token: unknown key; did you mean 'max_tokens'?" in res.stderr, res.stderr


def test_a_bad_flag_shows_the_commands_own_usage(tmp_path):
    res = distill("run", "x.yaml", "--temprature", "0.2")
    assert res.returncode == 2
    assert "usage: distill run" in res.stderr and "unrecognized arguments: --temprature" in res.stderr


def test_validate_checks_several_files_and_an_unset_key_variable(tmp_path):
    ok = write(tmp_path / "ok.yaml", "recipe: respond\ninput: {path: %s}\n" % (ROOT / "recipes" / "data" /
                                                                               "instructions.jsonl"))
    hosted = write(tmp_path / "hosted.yaml", "recipe: respond\nteacher: {provider: openai, model: gpt-4o-mini, "
                                             "api_key_env: MY_UNSET_KEY_VAR}\n")
    res = distill("validate", str(ok), str(hosted))
    assert res.returncode == 2
    assert f"{ok}: ok" in res.stdout
    assert "MY_UNSET_KEY_VAR" in res.stderr and "1 of 2 recipe file(s) failed" in res.stderr


@pytest.mark.slow
def test_a_run_where_every_item_failed_does_not_exit_0(tmp_path, teacher_server):
    teacher_server.configure(fail=1.0)
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hi"}) + "\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run",
                      teacher_extra="max_retries: 1")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1 and "every item failed" in res.stderr, (res.returncode, res.stderr)


def test_dry_run_into_a_closed_pipe_is_quiet(tmp_path, teacher_server):
    rows = "".join(json.dumps({"instruction": "word " * 200 + str(i)}) + "\n" for i in range(50))
    inp = write(tmp_path / "in.jsonl", rows)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    cmd = f"{sys.executable} -m distill.cli.main run {cfg} --dry-run | head -1"
    res = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT)
    assert res.stdout.startswith("recipe respond")
    assert "BrokenPipeError" not in res.stderr and "Traceback" not in res.stderr, res.stderr


@pytest.mark.slow
def test_show_renders_scores_selection_and_filters_rejected(tmp_path, teacher_server):
    teacher_server.configure(rules=[
        {"match": r"# Response to grade\n+.*?\[score=(\d+)\]", "reply": '{"rationale": "ok", "score": \\1}'}])
    rows = [{"instruction": f"Q{i} [score={s}]"} for i, s in enumerate([9, 3, 7, 8])]
    rows.append({"instruction": "long [[truncate]]"})
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run",
                      quality="{rubric: overall}", select="{rules: [{score: judge.overall, min: 7}]}")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    res = distill("show", str(tmp_path / "run"), "-n", "1")
    assert res.returncode == 0, res.stderr
    assert "Score judge.overall: 4 scored" in res.stdout
    assert "Selection (all): kept 3 of 4" in res.stdout
    assert "showed 1 of 3 accepted record(s)" in res.stdout
    only = distill("show", str(tmp_path / "run"), "--reason", "truncated")
    assert "showed 1 of 1 rejected record(s) with reason truncated" in only.stdout
    assert "below" not in only.stdout  # the selection's rejections are filtered out
    by_stage = distill("show", str(tmp_path / "run"), "--stage", "select")
    assert "showed 1 of 1 rejected record(s) with stage select" in by_stage.stdout


@pytest.mark.slow
def test_show_cuts_long_answers_at_a_word_and_says_so(tmp_path, teacher_server):
    teacher_server.configure(rules=[{"match": "essay", "reply": "lorem ipsum " * 200}])
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "write an essay"}) + "\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    res = distill("show", str(tmp_path / "run"))
    assert "more characters; --full shows all)" in res.stdout
    assert "lorem ipsu " not in res.stdout.replace("\n", " ")
    full = distill("show", str(tmp_path / "run"), "--full")
    assert full.stdout.count("lorem") == 200


@pytest.mark.slow
def test_a_datasets_folder_with_configs_and_another_field(tmp_path, teacher_server):
    repo = tmp_path / "gsm"
    write(repo / "main" / "train.jsonl", "".join(json.dumps({"question": f"How many {i}?", "answer": "#### 3"})
                                                 + "\n" for i in range(3)))
    write(repo / "socratic" / "train.jsonl", json.dumps({"question": "Why?", "answer": "#### 1"}) + "\n")
    write(repo / "README.md", "---\nconfigs:\n- config_name: main\n  data_files: main/train.jsonl\n"
                              "- config_name: socratic\n  data_files: socratic/train.jsonl\n---\n")
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {repo}, name: main}}
out: {tmp_path / 'run'}
""")
    missing = distill("run", str(cfg), "--no-progress")
    assert missing.returncode == 2
    assert "field 'instruction' must be a non-empty string (missing)" in missing.stderr
    assert "the columns there are 'question', 'answer'" in missing.stderr, missing.stderr
    res = distill("run", str(cfg), "--no-progress", "--field", "question")
    assert res.returncode == 0, res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [r["instruction"] for r in data] == ["How many 0?", "How many 1?", "How many 2?"]


@pytest.mark.slow
def test_another_teacher_never_replaces_an_earlier_run(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hi"}) + "\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    before = (tmp_path / "run" / "data.jsonl").read_text()
    other = distill("run", str(cfg), "--no-progress", "--set", "teacher.model=other-model")
    assert other.returncode == 2
    assert "teacher openai:fake-model@" in other.stderr and "-> openai:other-model@" in other.stderr
    assert f"--out {tmp_path / 'run'}-other-model" in other.stderr and "--overwrite" in other.stderr
    assert (tmp_path / "run" / "data.jsonl").read_text() == before
    # the same models with an edited option is this run's to rebuild; --overwrite replaces on purpose
    assert distill("run", str(cfg), "--no-progress", "--set", "options.min_words=1").returncode == 0
    res = distill("run", str(cfg), "--no-progress", "--set", "teacher.model=other-model", "--overwrite")
    assert res.returncode == 0, res.stderr
    assert "other-model" in json.loads((tmp_path / "run" / "manifest.json").read_text())["config"]["teacher"]["model"]


def test_unreachable_teachers_end_with_one_clean_message(tmp_path):
    import socket
    import threading

    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hi"}) + "\n")
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen()

    def answer_plain_http() -> None:  # an http server where the config says https
        for _ in range(4):
            conn, _ = plain.accept()
            conn.recv(1000)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            conn.close()

    threading.Thread(target=answer_plain_http, daemon=True).start()
    for url, says in (("http://no-such-host.invalid:8000/v1", "cannot connect"),
                      (f"https://127.0.0.1:{plain.getsockname()[1]}/v1", "WRONG_VERSION_NUMBER")):
        cfg = recipe_yaml(tmp_path / "r.yaml", url, inp, tmp_path / "run", teacher_extra="max_retries: 1")
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 1 and says in res.stderr, res.stderr
        assert "never retrieved" not in res.stderr and "Traceback" not in res.stderr, res.stderr
    plain.close()
