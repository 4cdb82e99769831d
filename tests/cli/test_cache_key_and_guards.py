"""The cache key covers `extra_body` (a changed sampling extra is a new call, never a stale answer), and input
that used to end in a traceback — a huge --num, a repo id or config name with `..` — is refused with exit 2
before any call and before the Hub is contacted."""

from __future__ import annotations

import json

import pytest
from fake_hub import FakeHub
from helpers import distill, read_jsonl, recipe_yaml, write_instructions

HF_TOKEN = "hf_test_token_write"


@pytest.fixture
def hub():
    with FakeHub(tokens=(HF_TOKEN,)) as h:
        yield h


def _hub_env(hub, tmp_path):
    return {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": HF_TOKEN, "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_OFFLINE": "0"}


def test_changing_extra_body_makes_new_calls(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 6)
    out = tmp_path / "run"

    def run(extra: str) -> int:
        before = teacher_server.stats()["answered"]
        cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra=f"extra_body: {extra}")
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        assert len(read_jsonl(out / "data.jsonl")) == 6
        return teacher_server.stats()["answered"] - before

    assert run("{repetition_penalty: 1.0}") == 6
    assert run("{repetition_penalty: 1.0}") == 0  # same parameters: every answer from the cache
    teacher_server.configure()
    assert run("{repetition_penalty: 1.3}") == 6  # a changed extra changes the answers: asked again
    assert {b["repetition_penalty"] for b in teacher_server.bodies()} == {1.3}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["teacher"]["extra_body"] == {"repetition_penalty": 1.3}
    assert run("{repetition_penalty: 1.3, api_key: rotated-credential-2}") == 0  # a credential changes no answer


def test_a_huge_num_is_an_input_error(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run")
    res = distill("run", str(cfg), "--no-progress", "--num", str(10**23))
    assert res.returncode == 2, res.stderr
    assert "num" in res.stderr and "Traceback" not in res.stderr
    assert teacher_server.stats()["requests"] == 0 and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_push_names_with_dot_dot_are_refused_before_the_hub(tmp_path, teacher_server, hub):
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    env = _hub_env(hub, tmp_path)
    for args, what in ((["../x"], "repo id"), (["tester/ok", "--config-name", "../../evil"], "config name"),
                       (["tester/ok", "--split", "../train"], "split"), (["a/b/c"], "repo id")):
        res = distill("push", str(out), *args, env=env)
        assert res.returncode == 2, (args, res.stderr)
        assert what in res.stderr and "Traceback" not in res.stderr
    assert hub.repos == {} and hub.requests == []  # refused before the Hub was contacted, no repo created


def test_a_bad_push_target_in_the_recipe_fails_validation_before_the_run(tmp_path, teacher_server, hub):
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    for push in ('{repo_id: "../x"}', '{repo_id: tester/ok, config_name: "../../evil"}'):
        cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run", push=push)
        for args in (["validate", str(cfg)], ["run", str(cfg), "--no-progress"]):
            res = distill(*args, env=_hub_env(hub, tmp_path))
            assert res.returncode == 2, (push, args, res.stderr)
            assert "push." in res.stderr and "Traceback" not in res.stderr
    assert teacher_server.stats()["requests"] == 0 and not (tmp_path / "run").exists()
    assert hub.requests == []
