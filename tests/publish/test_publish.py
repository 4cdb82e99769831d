"""Publishing: the real huggingface_hub client pushes a run to a Hub on 127.0.0.1; export formats; and a few
steps of TRL's SFTTrainer on the exported data with a tiny model built here."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from fake_hub import FakeHub
from helpers import distill, read_jsonl, recipe_yaml, write

TOKEN = "hf_test_token_write"


@pytest.fixture
def hub():
    with FakeHub(tokens=(TOKEN,)) as h:
        yield h


@pytest.fixture
def finished_run(tmp_path, teacher_server):
    rules = [{"match": r"# Response A\n+Answer \w+-0", "reply": '{"rationale": "a", "winner": "A"}'},
             {"match": r"# Response B\n+Answer \w+-0", "reply": '{"rationale": "b", "winner": "B"}'},
             {"match": r"# Rubric", "reply": '{"rationale": "fine", "score": 7}'}]
    teacher_server.configure(rules=rules)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}"}) + "\n" for i in range(6)))
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out,
                      quality="{rubric: overall, pairwise: true}", options="{samples: 2}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    return out


def _env(hub, tmp_path, token=TOKEN):
    return {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": token, "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_OFFLINE": "0"}


def _card(hub, repo):
    text = hub.repos[repo].files["README.md"].decode()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text


def test_push_repush_and_a_second_config(tmp_path, hub, finished_run):
    env = _env(hub, tmp_path)
    res = distill("push", str(finished_run), "tester/my-data", env=env)
    assert res.returncode == 0, res.stderr
    repo = hub.repos["tester/my-data"]
    parquet = repo.files["data/default/train-00000-of-00001.parquet"]
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(parquet))
    assert table.num_rows == 12 and table.column_names == ["messages", "meta"]
    meta, text = _card(hub, "tester/my-data")
    assert meta["license"] == "other" and meta["task_categories"] == ["text-generation"]
    assert meta["tags"] == ["synthetic", "distill", "respond"] and meta["size_categories"] == ["n<1K"]
    assert meta["configs"] == [{"config_name": "default",
                                "data_files": [{"split": "train", "path": "data/default/train-*"}]}]
    for section in ("## How it was generated", "## What was kept and what was dropped", "## Score distributions",
                    "## Known limitations", "## Reproduce", "## Prompt templates", "prompts/judge/pointwise.j2",
                    'load_dataset("tester/my-data", "default", split="train")', "fake-model"):
        assert section in text, section
    assert (finished_run / "README.md").read_text() == text  # the same card is in the run folder
    assert json.loads(repo.files["distill/default/manifest.json"])["recipe"] == "respond"

    # loadable with datasets from the pushed bytes
    import datasets

    local = tmp_path / "pulled.parquet"
    local.write_bytes(parquet)
    ds = datasets.load_dataset("parquet", data_files=str(local), split="train")
    assert ds[0]["messages"][-1]["role"] == "assistant"

    # re-push: same files, nothing duplicated
    before = dict(repo.files)
    assert distill("push", str(finished_run), "tester/my-data", env=env).returncode == 0
    assert repo.files == before

    # a second config is added beside the first, and the preference pairs export
    res = distill("push", str(finished_run), "tester/my-data", "--config-name", "pairs", "--format", "preference",
                  env=env)
    assert res.returncode == 0, res.stderr
    meta, _ = _card(hub, "tester/my-data")
    assert [c["config_name"] for c in meta["configs"]] == ["default", "pairs"]
    pairs = pq.read_table(io.BytesIO(repo.files["data/pairs/train-00000-of-00001.parquet"]))
    assert pairs.column_names == ["prompt", "chosen", "rejected", "meta"] and pairs.num_rows == 6
    assert "data/default/train-00000-of-00001.parquet" in repo.files

    # the token is nowhere: not in the run folder, not on the Hub
    for blob in [*repo.files.values(), *(p.read_bytes() for p in finished_run.rglob("*") if p.is_file())]:
        assert TOKEN.encode() not in blob


def test_bad_token_is_refused_clearly_and_touches_nothing(tmp_path, hub, finished_run):
    before = {p.name: p.stat().st_mtime_ns for p in finished_run.iterdir()}
    res = distill("push", str(finished_run), "tester/x", env=_env(hub, tmp_path, token="hf_wrong_token_0000"))
    assert res.returncode == 1
    assert "rejected the token (HTTP 401)" in res.stderr and "Traceback" not in res.stderr
    assert "hf_wrong_token_0000" not in res.stderr + res.stdout
    assert {p.name: p.stat().st_mtime_ns for p in finished_run.iterdir()} == before
    assert hub.repos == {}


def test_push_from_the_recipe_yaml(tmp_path, hub, teacher_server):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hello"}) + "\n")
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, tmp_path / "run",
                      push="{repo_id: tester/from-yaml, config_name: v1, license: apache-2.0}")
    res = distill("run", str(cfg), "--no-progress", env=_env(hub, tmp_path))
    assert res.returncode == 0, res.stderr
    assert "pushed 1 rows" in res.stdout
    meta, _ = _card(hub, "tester/from-yaml")
    assert meta["license"] == "apache-2.0" and meta["configs"][0]["config_name"] == "v1"


def test_a_run_with_no_accepted_records_is_neither_exported_nor_pushed(tmp_path, hub, teacher_server):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hello"}) + "\n")
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, options="{min_words: 1000}")
    assert distill("run", str(cfg), "--no-progress").returncode == 1  # nothing accepted: said, exit 1
    assert read_jsonl(out / "data.jsonl") == [] and len(read_jsonl(out / "rejected.jsonl")) == 1
    for args in (["export", str(out)], ["export", str(out), "--format", "alpaca", "--to", str(tmp_path / "a.jsonl")],
                 ["push", str(out), "tester/empty"]):
        res = distill(*args, env=_env(hub, tmp_path))
        assert res.returncode == 2, res.stderr
        assert "no accepted records" in res.stderr and "Traceback" not in res.stderr
    assert not (out / "data.parquet").exists() and not (tmp_path / "a.jsonl").exists()
    assert hub.repos == {} and hub.requests == []  # refused before the Hub was contacted


def test_export_formats(tmp_path, finished_run):
    for fmt, columns in (("alpaca", {"instruction", "input", "output"}), ("sharegpt", {"conversations"}),
                         ("preference", {"prompt", "chosen", "rejected", "meta"})):
        target = tmp_path / f"{fmt}.jsonl"
        res = distill("export", str(finished_run), "--format", fmt, "--to", str(target))
        assert res.returncode == 0, res.stderr
        rows = read_jsonl(target)
        assert rows and set(rows[0]) == columns
    share = read_jsonl(tmp_path / "sharegpt.jsonl")[0]["conversations"]
    assert [t["from"] for t in share] == ["human", "gpt"]
    pref = read_jsonl(tmp_path / "preference.jsonl")[0]
    assert pref["chosen"][0]["role"] == "assistant" and pref["prompt"][0]["role"] == "user"


def test_trl_sft_trainer_trains_on_the_export_with_no_glue(tmp_path, finished_run):
    pytest.importorskip("trl")
    from tiny_models import build_causal_lm

    model_dir = build_causal_lm(tmp_path / "tiny")
    target = tmp_path / "messages.parquet"
    assert distill("export", str(finished_run), "--format", "messages", "--to", str(target)).returncode == 0

    import datasets
    from trl import SFTConfig, SFTTrainer

    ds = datasets.load_dataset("parquet", data_files=str(target), split="train")
    args = SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=3, per_device_train_batch_size=4,
                     logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, max_length=128)
    trainer = SFTTrainer(model=str(model_dir), args=args, train_dataset=ds)
    result = trainer.train()
    assert result.global_step == 3
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
