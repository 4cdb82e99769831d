from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
# tests elsewhere reuse the recipe tests' scripted replies (e.g. `from test_self_instruct import RULES`)
sys.path.insert(1, str(Path(__file__).resolve().parent / "recipes"))

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




@pytest.fixture
def instructions(tmp_path):
    from helpers import write_instructions

    return write_instructions(tmp_path / "in.jsonl", 20)
