"""Batch mode under the `ray` executor: the batch calls are made by the driver (where the recipe, the cache and
the window live), so the dataset is the local executor's, byte for byte, and no call reaches a Ray worker."""

from __future__ import annotations

import json

import pytest
from helpers import write
from openai_batch_server import OpenAIBatchServer

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_batch_mode_under_ray_writes_the_same_bytes_as_local(tmp_path):
    from distill.config import RunConfig
    from distill.run.runner import execute

    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Task {i}: say something"}) + "\n"
                                               for i in range(50)))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with OpenAIBatchServer(batch={"polls": 2, "expire_pct": 10}) as server:
            recipe = {"recipe": "respond", "seed": 3, "input": {"path": str(inp)}, "options": {"samples": 2},
                      "generation": {"max_tokens": 32, "temperature": 0.7},
                      "teacher": {"provider": "openai", "model": "fake-model", "base_url": server.url,
                                  "batch": {"poll_seconds": 0.05, "gather_seconds": 0.2}}}
            manifests = {}
            for kind in ("local", "ray"):
                cfg = RunConfig.model_validate({**recipe, "out": str(tmp_path / kind), "executor": kind})
                manifests[kind] = execute(cfg, progress=False).manifest
            assert server.stats()["requests"] == 0  # no immediate call, from the driver or a worker
    finally:
        ray.shutdown()
    for name in ("data.jsonl", "rejected.jsonl", "failed.jsonl"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert manifests["ray"]["usage"]["teacher"]["batched"] == 50
    assert all(n == 0 for n in manifests["ray"]["executor"]["pools"][0]["answered"])
