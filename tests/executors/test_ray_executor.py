"""The `ray` executor against a local Ray (one session for this module): the same bytes as the local executor,
a killed worker that loses nothing and repeats no received call, one rate limit shared by every worker, and
in-process models served by replicas."""

from __future__ import annotations

import json
import threading
import time

import pytest
from helpers import distill, read_jsonl, write

ray = pytest.importorskip("ray")

OUTPUTS = ("data.jsonl", "rejected.jsonl", "failed.jsonl")


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def run(tmp_path, name: str, recipe: dict, kind: str, **executor) -> dict:
    from distill.config import RunConfig
    from distill.run.runner import execute

    cfg = RunConfig.model_validate({**recipe, "out": str(tmp_path / name), "executor": {"kind": kind, **executor}})
    return execute(cfg, progress=False).manifest


def respond_recipe(url: str, inp, **teacher) -> dict:
    return {"recipe": "respond", "name": "t", "seed": 3, "input": {"path": str(inp)},
            "generation": {"max_tokens": 32, "temperature": 0.7},
            "teacher": {"provider": "openai", "model": "fake-model", "base_url": url, "timeout": 5, **teacher}}


def rows(tmp_path, n: int):
    lines = [{"instruction": f"Task {i}: say something" + (" [[truncate]]" if i % 7 == 3 else "")} for i in range(n)]
    return write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in lines))


@pytest.mark.slow
def test_respond_under_ray_writes_the_same_bytes_as_local(tmp_path, teacher_server, ray_session):
    recipe = respond_recipe(teacher_server.url, rows(tmp_path, 60))
    recipe["options"] = {"samples": 2}
    run(tmp_path, "local", recipe, "local")
    manifest = run(tmp_path, "ray", recipe, "ray", workers=2)
    for name in OUTPUTS:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert len(read_jsonl(tmp_path / "ray" / "data.jsonl")) > 60
    assert read_jsonl(tmp_path / "ray" / "rejected.jsonl")  # the truncated rows
    pool = manifest["executor"]["pools"][0]
    assert pool["actors"] == 2 and all(n > 0 for n in pool["answered"]), pool  # both workers served calls
    # the cache is the executor's too: the ray run's folder re-run locally sends nothing
    before = teacher_server.stats()["requests"]
    again = run(tmp_path, "ray", recipe, "local")
    assert teacher_server.stats()["requests"] == before and again["counts"] == manifest["counts"]


@pytest.mark.slow
def test_evol_instruct_under_ray_writes_the_same_bytes_as_local(tmp_path, teacher_server, ray_session):
    from scripted_replies import EVOL_ROOTS, EVOL_RULES

    teacher_server.configure(rules=EVOL_RULES)
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in EVOL_ROOTS))
    recipe = {"recipe": "evol_instruct", "name": "e", "seed": 5, "input": {"path": str(inp)},
              "teacher": {"provider": "openai", "model": "evolver", "base_url": teacher_server.url},
              "answer_teacher": {"provider": "openai", "model": "answerer", "base_url": teacher_server.url}}
    local = run(tmp_path, "local", recipe, "local")
    remote = run(tmp_path, "ray", recipe, "ray", workers=2)
    for name in OUTPUTS:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert remote["evol_rounds"] == local["evol_rounds"] and remote["stages"] == local["stages"]
    assert len(remote["executor"]["pools"]) == 2  # the evolving and the answering teacher, one pool each


@pytest.mark.slow
def test_a_killed_worker_loses_nothing_and_no_received_answer_is_asked_for_again(tmp_path, teacher_server,
                                                                                 ray_session):
    teacher_server.configure(latency=0.3, jitter=0.1)
    n = 200
    recipe = respond_recipe(teacher_server.url, write(tmp_path / "in.jsonl", "".join(
        json.dumps({"instruction": f"Row {i}"}) + "\n" for i in range(n))), max_concurrency=40)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(run(tmp_path, "ray", recipe, "ray", workers=2)))
    worker.start()
    deadline = time.monotonic() + 120
    while teacher_server.stats()["answered"] < 50 and time.monotonic() < deadline:
        time.sleep(0.02)
    victims = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
               if a["namespace"] == "distill" and a["name"].endswith("-0") and "-openai-" in a["name"]]
    assert len(victims) == 1, victims
    ray.kill(ray.get_actor(victims[0], namespace="distill"), no_restart=False)  # Ray restarts it
    worker.join(180)
    assert not worker.is_alive()

    data = read_jsonl(tmp_path / "ray" / "data.jsonl")
    assert [r["meta"]["index"] for r in data] == list(range(n))  # nothing lost, nothing twice
    lost = result["usage"]["teacher"]["retry_reasons"].get("WorkerLost", 0)
    assert lost > 0 and result["executor"]["pools"][0]["lost"] == lost  # the kill hit calls in flight
    log = teacher_server.log()
    assert len(set(log)) == n
    assert len(log) - n <= lost  # only calls whose answers never reached the driver were sent again
    before = teacher_server.stats()["requests"]
    again = run(tmp_path, "ray", recipe, "local")  # every received answer is in the cache
    assert teacher_server.stats()["requests"] == before and again["counts"]["accepted"] == n


@pytest.mark.slow
def test_one_rate_limit_holds_across_every_worker(tmp_path, teacher_server, ray_session):
    """Two workers, 1,200 requests/min set: with one limiter actor they send ~20/s together (each on its own
    would send ~20/s, 40/s in all, and the server's limit of 30/s would answer many with 429)."""
    teacher_server.configure(latency=0.05, limit_rps=30)
    n = 100
    recipe = respond_recipe(teacher_server.url, write(tmp_path / "in.jsonl", "".join(
        json.dumps({"instruction": f"Row {i}"}) + "\n" for i in range(n))), requests_per_minute=1200)
    manifest = run(tmp_path, "ray", recipe, "ray", workers=2)
    stats, arrivals = teacher_server.stats(), sorted(teacher_server.arrivals())
    assert manifest["counts"]["accepted"] == n
    assert manifest["executor"]["pools"][0]["rate_limiter"] and all(
        k > 0 for k in manifest["executor"]["pools"][0]["answered"])
    assert stats["rate"] <= 0.01 * stats["requests"], stats  # 429s
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert 0.8 * 20 <= rate <= 1.1 * 20, rate


@pytest.mark.slow
def test_an_in_process_model_is_served_by_replicas_with_the_same_answers(tmp_path, ray_session):
    """The embedded llama.cpp teacher as two Ray replicas (one CPU each): both answer, and greedy answers are
    the ones the local executor gets."""
    pytest.importorskip("llama_cpp")
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Name a colour number {i}."}) + "\n"
                                              for i in range(8)))
    recipe = {"recipe": "respond", "name": "m", "input": {"path": str(inp)},
              "generation": {"max_tokens": 6, "temperature": 0}, "teacher": {"provider": "local", "max_concurrency": 4},
              "options": {"min_words": 0}}
    run(tmp_path, "local", recipe, "local")
    manifest = run(tmp_path, "ray", recipe, "ray", replicas=2, num_cpus=1)
    for name in OUTPUTS:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    pool = manifest["executor"]["pools"][0]
    assert pool["kind"] == "local" and pool["actors"] == 2 and all(n > 0 for n in pool["answered"]), pool
    assert manifest["teacher"]["kind"] == "local"  # the model's own identity: the same cache keys



@pytest.mark.slow
def test_a_transformers_reward_model_is_served_by_replicas_with_the_same_scores(tmp_path, teacher_server,
                                                                                 ray_session):
    """`reward: {provider: transformers}` under ray: two replica actors score the candidates (both take part),
    the records and their scores are the bytes the local executor writes, and the scores are cached alike (a
    local re-run of the ray run's folder scores nothing again)."""
    pytest.importorskip("transformers")
    from tiny_models import build_reward_model

    model = build_reward_model(tmp_path / "rm", ["helpfulness", "verbosity"])
    recipe = respond_recipe(teacher_server.url, rows(tmp_path, 40))
    recipe["reward"] = {"provider": "transformers", "path": str(model), "batch_size": 4}
    recipe["select"] = {"rules": [{"score": "reward.helpfulness", "top_quantile": 0.5}]}
    run(tmp_path, "local", recipe, "local")
    manifest = run(tmp_path, "ray", recipe, "ray", workers=1, replicas=2, num_cpus=0.5)
    for name in OUTPUTS:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    data = read_jsonl(tmp_path / "ray" / "data.jsonl")
    assert data and all("reward.helpfulness" in r["meta"]["scores"] for r in data)
    pools = {p["kind"]: p for p in manifest["executor"]["pools"]}
    scorer = pools["reward-transformers"]
    assert scorer["actors"] == 2 and all(n > 0 for n in scorer["answered"]), scorer
    again = run(tmp_path, "ray", recipe, "local")
    assert again["counts"] == manifest["counts"]
    assert "reward-transformers" not in {p.get("kind") for p in again["executor"].get("pools", [])}


def test_executor_config_and_cli_override(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "hi"}) + "\n")
    base = (f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}\n"
            f"input: {{path: {inp}}}\nout: {tmp_path / 'o'}\n")
    bad = write(tmp_path / "bad.yaml", base + "executor: {kind: local, workers: 4}\n")
    res = distill("validate", str(bad))
    assert res.returncode == 2 and "workers only apply to `kind: ray`" in res.stderr, res.stderr
    typo = write(tmp_path / "typo.yaml", base + "executor: {kind: ray, worker: 4}\n")
    res = distill("validate", str(typo))
    assert res.returncode == 2 and "executor.worker" in res.stderr
    from distill.cli.main import build_parser
    from distill.cli.run_cmd import overrides

    args = build_parser().parse_args(["run", "r.yaml", "--executor", "ray"])
    assert overrides(args, {"executor": {"kind": "local"}})["executor"] == {"kind": "ray"}
    assert overrides(args, {"executor": {"kind": "ray", "address": "auto"}})["executor"] == {
        "kind": "ray", "address": "auto"}
    args.executor = "local"
    assert overrides(args, {"executor": {"kind": "ray", "address": "auto"}})["executor"] == {"kind": "local"}


def test_importing_distill_never_imports_ray(tmp_path):
    import subprocess
    import sys

    from helpers import ROOT

    code = ("import sys; import distill.run.runner, distill.recipes.respond.recipe, distill.executors, distill.config; "
            "print('ray' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.stdout.strip() == "False", res.stdout + res.stderr
