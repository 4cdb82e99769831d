"""What the secret registry remembers and masks by value, and what it must leave alone (a recipe option named
`answer_key: answer` must not turn every "answer" in the data into ***). Each test runs in a fresh registry."""

from __future__ import annotations

import html
import io
import json
import sys
from urllib.parse import quote

import pytest

from distill import secrets
from distill.redact import clean_text, redact_manifest


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch):
    monkeypatch.setattr(secrets, "_values", set())
    monkeypatch.setattr(secrets, "_text", (None, ()))
    monkeypatch.setattr(secrets, "_bytes", (None, ()))


def test_an_environment_key_is_masked_by_value_in_any_text_and_escaped_form(monkeypatch):
    monkeypatch.setenv("MY_KEY", 'plain"key<with>spaces and&more')
    assert secrets.read_env("MY_KEY") == 'plain"key<with>spaces and&more'
    assert secrets.read_env("NOT_SET_ANYWHERE") is None
    key = 'plain"key<with>spaces and&more'
    for form in (key, json.dumps(key), quote(key, safe=""), html.escape(key)):
        assert "with" not in secrets.mask(f"server said: {form}!"), form
    assert secrets.mask_bytes(json.dumps({"error": key}).encode()) == b'{"error": "***"}'
    assert clean_text(f"401: Incorrect API key provided: {key}") == "401: Incorrect API key provided: ***"


def test_short_values_and_placeholders_are_not_remembered_and_a_longer_secret_masks_whole(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "EMPTY")  # what vLLM's docs tell users to set for a server with no key
    monkeypatch.setenv("OTHER_KEY", "none")
    secrets.read_env("OPENAI_API_KEY")
    secrets.read_env("OTHER_KEY")
    assert secrets.mask("none of the answers was EMPTY") == "none of the answers was EMPTY"
    secrets.register("abc")  # under MIN_LENGTH: would mask ordinary words
    secrets.register("pw4x")
    secrets.register("pw4x-longer")
    assert secrets.mask("abc pw4x pw4x-longer") == "abc *** ***"
    secrets.register("Bearer tok3n-value")  # an Authorization value: the token alone is a secret too
    assert secrets.mask("got tok3n-value") == "got ***"


def test_config_secrets_are_those_of_the_model_roles_and_url_credentials():
    secrets.register_config({
        "teacher": {"provider": "openai", "api_key_env": "MY_VAR", "base_url": "http://u:p%40ssword@h/v1",
                    "extra_body": {"api_key": "opensesame", "headers": {"X-Api-Key": "letmein"},
                                   "repetition_penalty": 1.05, "token": None}},
        "judge": "openai:m@http://127.0.0.1:1/v1?api-key=judgekey&model=x",
        "options": {"answer_key": "answer", "system_prompt": "Reply as key: value lines"},
        "report": {"embeddings": "openai:e@http://me:embedpass@host/v1"},
    })
    text = ("opensesame letmein p%40ssword p@ssword judgekey embedpass | answer MY_VAR openai 1.05 model=x "
            "Reply as key: value lines")
    assert secrets.mask(text) == "*** *** *** *** *** *** | answer MY_VAR openai 1.05 model=x Reply as key: value lines"


def test_a_manifest_is_masked_with_its_own_config_secrets_wherever_quoted():
    manifest = {"command": "distill run r.yaml --set 'teacher.extra_body={api_key: opensesame}'",
                "config": {"teacher": {"extra_body": {"api_key": "opensesame"}}},
                "note": "the teacher saw opensesame"}
    assert redact_manifest(manifest) == {
        "command": "distill run r.yaml --set 'teacher.extra_body={api_key: ***}'",
        "config": {"teacher": {"extra_body": {"api_key": "***"}}}, "note": "the teacher saw ***"}


def test_the_masked_console_masks_every_write_and_restores_the_streams(monkeypatch):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    secrets.register("hunter22")
    with secrets.masked_console():
        print("key hunter22 here")
        sys.stderr.write("and hunter22 there\n")
        assert sys.stdout.getvalue() == "key *** here\n"  # other attributes are the wrapped stream's
    assert sys.stdout is out and sys.stderr is err
    assert err.getvalue() == "and *** there\n"
