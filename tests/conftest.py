"""Fixtures every test may use. The support modules beside this file (helpers, fake_teacher,
scripted_replies, ...) import by name: pytest puts this folder on sys.path when it loads this file."""

from __future__ import annotations

import pytest
from fake_teacher import FakeTeacher


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
