"""What redaction masks and what it must leave readable (a masked `max_tokens` or prompt text would make the
manifest, the card and error messages wrong)."""

from __future__ import annotations

import pytest

from distill.redact import (
    clean_text,
    is_secret_name,
    looks_like_key,
    redact_text,
    redact_tree,
    redact_url,
)

KEY = "sk-proj-0123456789abcdefghij"


@pytest.mark.parametrize(("url", "shown"), [
    (f"https://user:{KEY}@api.example.com/v1", "https://user:***@api.example.com/v1"),
    (f"https://{KEY}@api.example.com/v1", "https://***@api.example.com/v1"),
    (f"http://h:8000/v1?api-key={KEY}&model=x", "http://h:8000/v1?api-key=***&model=x"),
    (f"http://h/v1?key={KEY}&sig=abc123", "http://h/v1?key=***&sig=***"),
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
])
def test_urls(url, shown):
    assert redact_url(url) == shown
    assert redact_text(f"cannot reach {url} now") == f"cannot reach {shown} now"


@pytest.mark.parametrize("text", [
    f"Authorization: Bearer {KEY}", f'{{"api_key": "{KEY}"}}', "x-api-key: abcdef123456", f"token={KEY}",
    "--set teacher.extra_body.api_key=secret123value", "hf_AbCdEfGhIjKlMnOpQrSt123", f"uses {KEY} here",
])
def test_secrets_in_text_are_masked(text):
    masked = redact_text(text)
    assert "***" in masked
    for secret in (KEY, "abcdef123456", "secret123value", "hf_AbCdEfGhIjKlMnOpQrSt123"):
        assert secret not in masked


@pytest.mark.parametrize("text", [
    "generation.max_token: unknown key; did you mean 'max_tokens'?", "expected KEY=VALUE", "token=word",
    "max_tokens=512 top_k=40", "api_key_env: MY_TEACHER_KEY", "Invalid token provided; basic arithmetic",
])
def test_ordinary_text_is_left_alone(text):
    assert redact_text(text) == text


def test_manifest_tree():
    tree = {"api_key_env": "OPENAI_API_KEY", "usage": {"prompt_tokens": 5, "max_tokens": 9},
            "extra_body": {"api_key": "x", "Authorization": "y", "repetition_penalty": 1.1, "token": None},
            "options": {"system_prompt": "Reply as key: value lines"},
            "command": "distill run r.yaml --set teacher.extra_body.token=abc123def456"}
    assert redact_tree(tree) == {
        "api_key_env": "OPENAI_API_KEY", "usage": {"prompt_tokens": 5, "max_tokens": 9},
        "extra_body": {"api_key": "***", "Authorization": "***", "repetition_penalty": 1.1, "token": None},
        "options": {"system_prompt": "Reply as key: value lines"},
        "command": "distill run r.yaml --set teacher.extra_body.token=***"}


def test_names_and_keys():
    assert all(map(is_secret_name, ["api_key", "X-Api-Key", "access_token", "Authorization", "password", "apiKey"]))
    assert not any(map(is_secret_name, ["max_tokens", "api_key_env", "skip_special_tokens", "top_k", "keywords"]))
    assert looks_like_key(KEY) and looks_like_key("3f9a0c1d2b7e4f6a8c9d0e1f2a3b4c5d")
    assert not looks_like_key("MY_TEACHER_KEY") and not looks_like_key("my_openai_key_2024_project")


def test_clean_text_strips_escapes_and_bounds_length():
    text = "\x1b[2J\x1b]0;title\x07ok\x00 \u202eevil " + "A" * 1000
    cleaned = clean_text(text, 100)
    assert cleaned.startswith("ok evil AAA") and len(cleaned) == 103 and "\x1b" not in cleaned
