"""The embedded model's threads fit the CPUs the run really has, and waiting threads sleep instead of spinning.

A CI run died of this: two slow tests in parallel on two cores, each with llama.cpp on two threads whose OpenMP
barriers spin, made a three-record run pass 300 s (bench/embedded_contention.py: 108 -> 2.5 tokens/s beside two
busy processes; 20 tokens/s with the passive wait policy)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distill.errors import InputError
from distill.providers.cpus import quota_cpus, usable_cpus
from distill.providers.llama_process import LlamaProcess


def _cpu_max(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpu.max"
    path.write_text(text)
    return path


def test_a_container_quota_limits_the_threads_below_the_hosts_core_count(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 96)  # what a 2-CPU container on a 96-core host reports
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(96)))
    assert usable_cpus(_cpu_max(tmp_path, "200000 100000\n")) == 2
    assert usable_cpus(_cpu_max(tmp_path, "150000 100000\n")) == 2  # 1.5 CPUs: two threads, rounded up
    assert usable_cpus(_cpu_max(tmp_path, "50000 100000\n")) == 1
    assert usable_cpus(_cpu_max(tmp_path, "max 100000\n")) == 96  # no quota
    assert usable_cpus(tmp_path / "absent") == 96  # cgroup v1 or no cgroup file


def test_an_affinity_mask_limits_the_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 7, 9})
    assert usable_cpus(tmp_path / "absent") == 3


@pytest.mark.parametrize("text", ["", "garbage", "100 0", "-1 100000"])
def test_an_unreadable_quota_is_no_quota(tmp_path, text):
    assert quota_cpus(_cpu_max(tmp_path, text)) is None


def _worker_environ(process: LlamaProcess) -> dict[str, str]:
    with pytest.raises(InputError, match="could not load"):  # answered: the worker runs (exec'd) and refused the file
        process.call("threads")
    assert process.pid is not None
    raw = Path(f"/proc/{process.pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the worker's environment through /proc")
def test_the_llama_worker_waits_passively_unless_the_user_chose_a_policy(tmp_path, monkeypatch):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"not a model")  # the worker starts, then answers with a load error
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    process = LlamaProcess(model, 2, 512, "test")
    try:
        assert _worker_environ(process)["OMP_WAIT_POLICY"] == "PASSIVE"
    finally:
        process.close()
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    process = LlamaProcess(model, 2, 512, "test")
    try:
        assert _worker_environ(process)["OMP_WAIT_POLICY"] == "ACTIVE"
    finally:
        process.close()
