"""The self-improvement loop end to end through the CLI, on a tiny Llama built in the test: two iterations, a
checkpoint per iteration with its marker, per-iteration records in the manifest and the card, a re-run that
calls nothing, a resume after a SIGKILL between iterations that matches an uninterrupted run, cache keys that
follow the checkpoint, and a half-written checkpoint trained again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import distill, expected_exit, read_jsonl, write

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

PROMPTS, HELD = 6, 4
VERIFIER = '''
import os, signal
from pathlib import Path


def even(answer, reference, row):
    """A deterministic stand-in for a checker: accepts answers of even length. Kills its own process (SIGKILL,
    like the OOM killer) once iteration 1's checkpoint is complete, when the test asks for it."""
    flag = os.environ.get("SI_KILL_FLAG")
    if flag and Path(flag).exists() and Path(os.environ["SI_DONE"]).exists():
        Path(flag).unlink()
        os.kill(os.getpid(), signal.SIGKILL)
    return len(answer) % 2 == 0
'''


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp("tiny-student"))


def _recipe(tmp: Path, lm: Path, out: Path, *, extra: str = "", **options: object) -> Path:
    write(tmp / "check.py", VERIFIER)
    write(tmp / "train.jsonl", "".join(json.dumps({"instruction": f"Question {i}: what is {i} plus 1?",
                                                   "answer": str(i + 1)}) + "\n" for i in range(PROMPTS)))
    write(tmp / "held.jsonl", "".join(json.dumps({"q": f"Question {i}: what is {i} plus 2?", "answer": str(i + 2)})
                                      + "\n" for i in range(10, 10 + HELD)))
    opts = {"mode": "verified", "iterations": 2, "samples": 4, "drop_truncated": False,
            "sample": {"temperature": 1.0, "max_tokens": 16},
            "verifier": {"kind": "function", "function": "check.py:even"},
            "train": {"method": "sft", "epochs": 1, "lr": 0.001, "batch_size": 4},
            "eval": {"path": "held.jsonl", "field": "q"}, **options}
    return write(tmp / "r.yaml", "\n".join([
        "recipe: self_improve", "name: si", f"teacher: {{provider: transformers, path: {lm}, batch_size: 1}}",
        "input: {path: train.jsonl}", f"out: {out}", "seed: 3", f"options: {json.dumps(opts)}", extra]) + "\n")


def _run(recipe: Path, env: dict[str, str] | None = None):
    return distill("run", str(recipe), "--no-progress", env=env, timeout=600)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _answered(out: Path) -> tuple[int, int]:
    u = _manifest(out)["usage"]["teacher"]
    return u["answered"], u["cache_hits"]


def _comparable(report: dict, folder: Path) -> list[dict]:
    """The per-iteration report without wall times, whether a checkpoint was reused, and the run folder's path."""
    out = []
    for entry in report["iterations"]:
        e = json.loads(json.dumps(entry).replace(str(folder), "OUT"))
        e.get("train", {}).pop("seconds", None)
        e.get("train", {}).pop("reused", None)
        out.append(e)
    return out


@pytest.mark.slow
def test_two_iterations_write_checkpoints_records_and_a_rerun_calls_nothing(tiny_lm, tmp_path):
    from distill.train.checkpoint import files_digest

    out = tmp_path / "out"
    r = _run(_recipe(tmp_path, tiny_lm, out))
    assert r.returncode == 0, r.stderr
    report = _manifest(out)["self_improve"]
    its = report["iterations"]
    assert [e["iteration"] for e in its] == [0, 1, 2]
    assert its[0]["checkpoint"] == str(tiny_lm)
    for n in (1, 2):
        model = out / "iterations" / str(n) / "model"
        marker = json.loads((out / "iterations" / str(n) / "model.done").read_text())
        assert marker["sha256"] == its[n]["checkpoint_sha256"] == files_digest(model)
        assert its[n]["checkpoint"] == str(model) and its[n]["train"]["method"] == "sft"
        assert its[n]["train"]["examples"] == its[n]["sft_examples"] == len(read_jsonl(model.parent / "sft.jsonl"))
        assert its[n]["prompts"] == PROMPTS
    assert its[1]["sampled_from"] == str(tiny_lm)
    assert its[2]["sampled_from"] == str(out / "iterations" / "1" / "model")  # the next one samples the new model
    assert its[1]["checkpoint_sha256"] != its[2]["checkpoint_sha256"]
    for e in its:
        ev = e["eval"]
        assert ev["metric"] == "pass_rate" and ev["total"] == HELD
        assert ev["ci95"][0] <= ev["pass_rate"] <= ev["ci95"][1]
        assert json.loads((out / "iterations" / str(e["iteration"]) / "eval.json").read_text())["eval"] == ev
    records = read_jsonl(out / "data.jsonl")
    assert {rec["meta"]["iteration"] for rec in records} == {1, 2}
    assert len(records) == its[1]["sft_examples"] + its[2]["sft_examples"]
    assert all(len(rec["output"]) % 2 == 0 for rec in records)  # only verified answers became training data
    assert len(read_jsonl(out / "pairs.jsonl")) == its[1]["pairs"] + its[2]["pairs"]
    card = (out / "README.md").read_text()
    assert "## Self-improvement iterations" in card and its[2]["checkpoint_sha256"][:12] in card

    answered, _ = _answered(out)
    assert answered == 3 * HELD + 2 * PROMPTS  # three evaluations, two rounds of k samples (one call each)
    planned = distill("run", str(_recipe(tmp_path, tiny_lm, out)), "--dry-run").stdout
    assert f"teacher calls: up to {answered}, {3 * HELD + 2 * PROMPTS * 4} samples\n" in planned, planned
    again = _run(_recipe(tmp_path, tiny_lm, out))
    assert again.returncode == 0, again.stderr
    assert _answered(out) == (0, answered)
    assert all(e.get("train", {}).get("reused", True) for e in _manifest(out)["self_improve"]["iterations"])
    assert _comparable(_manifest(out)["self_improve"], out) == _comparable(report, out)


@pytest.mark.slow
def test_resume_after_a_sigkill_between_iterations_matches_an_uninterrupted_run(tiny_lm, tmp_path):
    whole = tmp_path / "whole"
    assert _run(_recipe(tmp_path / "a", tiny_lm, whole)).returncode == 0
    out = tmp_path / "killed"
    recipe = _recipe(tmp_path / "b", tiny_lm, out)
    flag = write(tmp_path / "kill-once", "")
    killed = _run(recipe, env={"SI_KILL_FLAG": str(flag), "SI_DONE": str(out / "iterations/1/model.done")})
    assert killed.returncode == -9, killed.stderr
    assert (out / "iterations/1/model.done").is_file() and not (out / "iterations/2").exists()
    assert not (out / "manifest.json").exists()

    resumed = _run(recipe)
    assert resumed.returncode == 0, resumed.stderr
    its = _manifest(out)["self_improve"]["iterations"]
    assert its[1]["train"]["reused"] is True and its[2]["train"]["reused"] is False  # iteration 1 not retrained
    answered, cached = _answered(out)
    assert cached >= HELD + PROMPTS  # iteration 0's evaluation and iteration 1's samples came from the cache
    assert answered + cached == 3 * HELD + 2 * PROMPTS
    assert _comparable(_manifest(out)["self_improve"], out) == _comparable(_manifest(whole)["self_improve"], whole)
    strip = [{k: v for k, v in r.items() if k != "meta"} for r in read_jsonl(out / "data.jsonl")]
    assert strip == [{k: v for k, v in r.items() if k != "meta"} for r in read_jsonl(whole / "data.jsonl")]


@pytest.mark.slow
def test_a_new_checkpoint_gets_new_answers_while_the_old_ones_stay_cached(tiny_lm, tmp_path):
    out = tmp_path / "out"
    recipe = _recipe(tmp_path, tiny_lm, out)
    assert _run(recipe).returncode == 0
    first = _manifest(out)["self_improve"]["iterations"]
    shutil.rmtree(out / "iterations")  # the checkpoints go; the cache of answers stays
    retrained = distill("run", str(recipe), "--no-progress", "--set", "options.train.lr=0.003", timeout=600)
    assert retrained.returncode == 0, retrained.stderr
    again = _manifest(out)["self_improve"]["iterations"]
    assert again[1]["checkpoint_sha256"] != first[1]["checkpoint_sha256"]
    assert again[0]["eval"] == first[0]["eval"] and again[1]["sft_examples"] == first[1]["sft_examples"]
    # iteration 0's evaluation and iteration 1's samples (from the unchanged base) are reused; everything the
    # new checkpoints answer is asked again, none taken from the old checkpoints' answers
    assert _answered(out) == (2 * HELD + PROMPTS, HELD + PROMPTS)


def test_spin_with_dpo_and_lora_trains_on_reference_vs_own_answers(tiny_lm, tmp_path):
    pytest.importorskip("peft")
    out = tmp_path / "out"
    r = _run(_recipe(tmp_path, tiny_lm, out, mode="spin", iterations=1, samples=1,
                     train={"method": "dpo", "epochs": 1, "lr": 0.001, "batch_size": 2, "beta": 0.1,
                            "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}}))
    assert r.returncode == 0, r.stderr
    its = _manifest(out)["self_improve"]["iterations"]
    pairs = read_jsonl(out / "pairs.jsonl")
    rejected = read_jsonl(out / "rejected.jsonl")  # a random model's samples with control characters
    assert len(pairs) + len(rejected) == PROMPTS and pairs
    assert its[1]["pairs"] == its[1]["train"]["examples"] == len(pairs) and its[1]["train"]["lora"]
    for p in pairs:  # the reference is chosen, the student's own answer rejected
        i = int(p["prompt"][0]["content"].split()[1].rstrip(":"))
        assert p["chosen"][-1]["content"] == str(i + 1) != p["rejected"][-1]["content"]
    model = out / "iterations/1/model"
    assert (model / "model.safetensors").is_file() and not (model / "adapter_config.json").exists()  # merged


def test_a_checkpoint_without_its_marker_is_trained_again(tiny_lm, tmp_path):
    from distill.train.checkpoint import files_digest, train_checkpoint
    from distill.train.options import TrainOptions

    examples = [{"prompt": [{"role": "user", "content": f"what is {i} plus 1?"}],
                 "completion": [{"role": "assistant", "content": f"The answer is {i + 1}."}]} for i in range(4)]
    model = tmp_path / "iterations/1/model"
    write(model / "model.safetensors", "half written")  # a kill during save
    done = train_checkpoint(str(tiny_lm), examples, TrainOptions(lr=1e-3, batch_size=2), model, seed=0)
    assert done["reused"] is False and done["sha256"] == files_digest(model)
    assert (model / "config.json").is_file()
    again = train_checkpoint(str(tiny_lm), examples, TrainOptions(lr=1e-3, batch_size=2), model, seed=0)
    assert again["reused"] is True and again["sha256"] == done["sha256"]
    assert json.loads((model.parent / "curve.json").read_text())[0]["loss"] > 0


@pytest.mark.slow
def test_self_reward_without_readable_judgements_keeps_the_student_and_reports_a_win_rate(tiny_lm, tmp_path):
    """A random model never writes "Score: N": no pair, nothing to train, the student stays as it was, and the
    evaluation (no verifier) is a win rate against iteration 0 — the same model, so every pair ties."""
    out = tmp_path / "out"
    # the tiny model's context is 256 tokens: the rubric and comparison prompts are replaced by short ones
    write(tmp_path / "judge.j2", "{{ instruction }} {{ answer }} Score:")
    write(tmp_path / "compare.j2", "{{ instruction }} A: {{ first }} B: {{ second }} Winner:")
    r = _run(_recipe(tmp_path, tiny_lm, out, mode="self_reward", iterations=1, samples=2, judge_samples=2,
                     verifier=None, judge={"temperature": 0.7, "max_tokens": 8},
                     train={"method": "dpo", "epochs": 1, "lr": 0.001, "batch_size": 2},
                     extra="prompts: {self_improve/judge.j2: judge.j2, self_improve/compare.j2: compare.j2}"))
    assert r.returncode == expected_exit(out), r.stderr
    report = _manifest(out)["self_improve"]
    one = report["iterations"][1]
    assert one["pairs"] == 0 and "skipped" in one["train"] and one["checkpoint"] == str(tiny_lm)
    assert not (out / "iterations/1/model").exists()
    assert one["eval"]["metric"] == "win_rate_vs_iteration_0" and one["eval"]["ties"] == HELD
    assert one["eval"]["win_rate"] == 0.5
    no_pair = _manifest(out)["self_improve_no_pair"]
    assert sum(no_pair.values()) >= 1 and set(no_pair) <= {"unscored", "one_scored_sample"}


@pytest.mark.slow
def test_a_bad_verifier_function_stops_the_run_naming_the_key(tiny_lm, tmp_path):
    """verifier.function is followed like `recipe: file.py:Class`: exit 2 naming the key, nothing trained."""
    write(tmp_path / "broken.py", "def even(answer, reference, row)\n    return True\n")
    cases = {"check.py:odd": "options.verifier.function: 'check.py:odd' is not a function",
             "broken.py:even": f"options.verifier.function: {tmp_path / 'broken.py'}:1: syntax error",
             "nowhere.py:even": f"options.verifier.function: {tmp_path / 'nowhere.py'}: file not found"}
    for function, message in cases.items():
        out = tmp_path / function.replace(":", "-")
        r = _run(_recipe(tmp_path, tiny_lm, out, verifier={"kind": "function", "function": function}))
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (function, r.stderr)
        assert not (out / "iterations" / "1").exists()


def test_training_leaves_no_model_behind(tiny_lm, tmp_path):
    """What fit() built (the model it trained, the trainer, the optimizer state) is freed when the checkpoint is
    saved, not whenever the garbage collector next runs: the run holds the student it samples from, not every
    copy it trained. Counted with automatic collection off, so only train_checkpoint's own release can free it."""
    import gc

    from transformers import PreTrainedModel

    from distill.train.checkpoint import train_checkpoint
    from distill.train.options import TrainOptions

    examples = [{"prompt": [{"role": "user", "content": f"what is {i} plus 1?"}],
                 "completion": [{"role": "assistant", "content": f"The answer is {i + 1}."}]} for i in range(4)]

    def models() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, PreTrainedModel))

    gc.collect()
    before = models()
    gc.disable()
    try:
        train_checkpoint(str(tiny_lm), examples, TrainOptions(lr=1e-3, batch_size=2), tmp_path / "model", seed=0)
        after = models()
    finally:
        gc.enable()
    assert after == before


def test_each_checkpoint_student_is_released_once_the_next_one_serves(tiny_lm, tmp_path, monkeypatch):
    """Two iterations make two checkpoint students; the first is closed and dropped as soon as the second is
    loaded, so an N-iteration run holds the configured student and one checkpoint, not N models."""
    from distill.config import load_config
    from distill.executors.local import LocalExecutor
    from distill.run.runner import execute

    held_at_close: list[list[str]] = []
    original = LocalExecutor.close

    async def close(self):  # what the executor still holds when the run ends
        held_at_close.append(sorted(json.loads(k)["model"] or "" for k in self._providers))
        await original(self)

    monkeypatch.setattr(LocalExecutor, "close", close)
    execute(load_config(_recipe(tmp_path, tiny_lm, tmp_path / "out"))[0], progress=False)
    assert len(held_at_close) == 1
    models = held_at_close[0]
    assert len(models) == 2 and sum(m.startswith("self_improve@") for m in models) == 1, models
