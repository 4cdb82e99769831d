from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_teacher import FakeTeacher  # noqa: E402


@pytest.fixture
def teacher_server():
    with FakeTeacher() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    """Tests never see a real key from the developer's environment."""
    for var in ("OPENAI_API_KEY", "HF_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def instructions(tmp_path):
    import json

    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"instruction": f"Task number {i}: say something"}) + "\n" for i in range(20)))
    return p


def recipe_yaml(tmp_path: Path, url: str, inp: Path, **extra: str) -> Path:
    lines = [
        "recipe: respond",
        "name: t",
        "teacher:",
        "  provider: openai",
        "  model: fake-model",
        f"  base_url: {url}",
        "  max_retries: 8",
        "  timeout: 5",
        "generation: {max_tokens: 32, temperature: 0.7}",
        f"input: {{path: {inp}}}",
        f"out: {tmp_path / 'run'}",
    ]
    for k, v in extra.items():
        lines.append(f"{k}: {v}")
    return write(tmp_path / "r.yaml", "\n".join(lines) + "\n")


os.environ.setdefault("DISTILL_TEST", "1")
