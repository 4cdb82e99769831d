"""Secrets masked by value: keys and passwords that no pattern recognises — not shaped like `sk-...`, shorter
than 8 characters, without a digit, written as `{api_key: X}` on the command line, echoed bare by a server —
are in no file distill writes, nothing it prints and nothing it pushes, because distill remembers every secret
value it was given (environment keys, secret-named config values) and masks those values wherever they occur."""

from __future__ import annotations

import json
from email.message import Message
from pathlib import Path

import pytest
from error_server import ErrorServer, respond_against
from fake_hub import FakeHub
from helpers import distill, read_jsonl, write, write_instructions

PLAIN_KEY = "correct-horse-battery-staple"  # no digit, no known prefix: no shape-based rule masks it
CLI_SECRET = "opensesame"  # 10 letters, no digit: `{api_key: opensesame}` passed every shape-based rule
SHORT_SECRET = "pw4x7"  # under 8 characters
HEADER_SECRET = "letmein-now"
HF_TOKEN = "hf_test_token_write"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix != ".sqlite"}


def _leaks(blobs: dict[str, bytes], secrets: tuple[str, ...]) -> list[str]:
    return sorted(f"{name}: {s}" for name, blob in blobs.items() for s in secrets if s.encode() in blob)


def _bare_echo(status: int) -> ErrorServer:
    """A teacher that refuses every call with `status`, quoting the key it was sent bare in its error message
    (as OpenAI's "Incorrect API key provided: KEY" does), with no `Bearer` or `key=` before it."""

    def body(headers: Message) -> bytes:
        key = (headers.get("Authorization") or "").removeprefix("Bearer ")
        return json.dumps({"error": {"message": f"Incorrect API key provided: {key}. Check it and retry.",
                                     "type": "invalid_request_error"}}).encode()

    return ErrorServer(status, body)


@pytest.mark.parametrize("status", [401, 500])
def test_a_key_a_server_echoes_bare_is_not_printed_nor_stored(tmp_path, status):
    res, out = respond_against(_bare_echo(status), tmp_path, PLAIN_KEY)
    console = res.stdout + res.stderr
    assert res.returncode == 1 and "Traceback" not in console
    written = {"console": console.encode(), **(_files(out) if out.exists() else {})}
    if status == 500:  # retries ran out: each item is recorded as failed, quoting the server's (masked) error
        failed = read_jsonl(out / "failed.jsonl")
        assert len(failed) == 3 and all("Incorrect API key provided: ***" in row["error"] for row in failed)
    else:  # the key was refused: the run stops quoting the server's words, the key masked
        assert "Incorrect API key provided: ***" in console
    assert _leaks(written, (PLAIN_KEY,)) == []


@pytest.mark.slow
def test_secret_config_values_are_masked_wherever_quoted_and_on_the_hub(tmp_path, teacher_server):
    inp = write_instructions(tmp_path / "in.jsonl", 4)
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""\
recipe: respond
name: byvalue
teacher:
  provider: openai
  model: fake-model
  base_url: {teacher_server.url}
  extra_body: {{headers: {{X-Api-Key: {HEADER_SECRET}}}, repetition_penalty: 1.05}}
options: {{system_prompt: "Answer briefly."}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {out}
""")
    sets = ["--set", f"teacher.extra_body={{api_key: {CLI_SECRET}, headers: {{X-Api-Key: {HEADER_SECRET}}}}}",
            "--set", f"teacher.extra_body.token={SHORT_SECRET}"]
    console = []
    res = distill("run", str(cfg), "--no-progress", *sets)
    console.append(res.stdout + res.stderr)
    assert res.returncode == 0, res.stderr
    body = teacher_server.bodies()[0]  # the values did reach the server, as asked
    assert body["api_key"] == CLI_SECRET and body["token"] == SHORT_SECRET
    assert body["headers"] == {"X-Api-Key": HEADER_SECRET}

    manifest = json.loads((out / "manifest.json").read_text())
    assert "teacher.extra_body={api_key: ***, headers: {X-Api-Key: ***}}" in manifest["command"]
    assert "teacher.extra_body.token=***" in manifest["command"]
    card = (out / "README.md").read_text()
    assert "## Reproduce" in card and "{api_key: ***, headers: {X-Api-Key: ***}}" in card

    for args in (["show", str(out)], ["validate", str(cfg), *sets], ["run", str(cfg), "--dry-run", *sets]):
        r = distill(*args)
        assert r.returncode == 0, r.stderr
        console.append(r.stdout + r.stderr)
    with FakeHub(tokens=(HF_TOKEN,)) as hub:
        res = distill("push", str(out), "tester/byvalue", env={
            "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": HF_TOKEN,
            "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"})
        console.append(res.stdout + res.stderr)
        assert res.returncode == 0, res.stderr
        pushed = {f"hub:{k}": v for k, v in hub.repos["tester/byvalue"].files.items()}
    assert "hub:README.md" in pushed
    written = {**_files(out), **pushed, **{f"console{i}": c.encode() for i, c in enumerate(console)}}
    assert _leaks(written, (CLI_SECRET, SHORT_SECRET, HEADER_SECRET)) == []


def test_an_old_manifests_secrets_are_masked_in_its_command_when_pushed(tmp_path, teacher_server):
    """A run folder written before masking by value: its manifest still quotes `{api_key: X}` in the command
    line; push remembers the config's secrets first, so the command pushed (manifest and card) has X masked."""
    out = tmp_path / "run"
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: "
                                     f"'{teacher_server.url}'}}\ninput: {{path: {inp}}}\nout: {out}\n")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["config"]["teacher"]["extra_body"] = {"api_key": CLI_SECRET}
    manifest["command"] = f"distill run r.yaml --set 'teacher.extra_body={{api_key: {CLI_SECRET}}}'"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with FakeHub(tokens=(HF_TOKEN,)) as hub:
        res = distill("push", str(out), "tester/old", env={
            "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": HF_TOKEN,
            "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0"})
        assert res.returncode == 0, res.stderr
        pushed = dict(hub.repos["tester/old"].files)
    assert b"teacher.extra_body={api_key: ***}" in pushed["distill/default/manifest.json"]
    assert _leaks({**pushed, "README.md": (out / "README.md").read_bytes()}, (CLI_SECRET,)) == []
