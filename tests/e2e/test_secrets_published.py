"""No secret reaches the run folder, the card, the console or the Hub — wherever the user put it: a key inside
`base_url` (`user:KEY@host`, `?api-key=KEY`, `?key=KEY`), secret-named `extra_body` values, the command line, or
an `Authorization` header a server echoes back in its error body (which is also stripped of terminal escapes and
cut short). A key pasted into `api_key_env` is refused before the run, without echoing it."""

from __future__ import annotations

import json
from email.message import Message
from pathlib import Path

import pytest
from error_server import ErrorServer, respond_against
from fake_hub import FakeHub
from helpers import distill, read_jsonl, write, write_instructions

KEY = "sk-planted-0123456789abcdefPLANTEDKEY"
HF_TOKEN = "hf_test_token_write"
RULES = [{"match": r"# Rubric", "reply": '{"rationale": "fine", "score": 8}'}]


@pytest.fixture
def hub():
    with FakeHub(tokens=(HF_TOKEN,)) as h:
        yield h


def _hub_env(hub: FakeHub, tmp_path: Path) -> dict[str, str]:
    return {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": HF_TOKEN, "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_OFFLINE": "0"}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _leaks(blobs: dict[str, bytes]) -> list[str]:
    needles = (KEY.encode(), KEY[3:].encode(), b"PLANTEDKEY")
    return [name for name, blob in blobs.items() if any(n in blob for n in needles)]


@pytest.mark.slow
def test_a_planted_key_is_in_no_file_no_message_and_not_on_the_hub(tmp_path, teacher_server, hub):
    teacher_server.configure(rules=RULES, fail=0.3, seed=7)
    port = teacher_server.port
    inp = write_instructions(tmp_path / "in.jsonl", 12)
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""\
recipe: respond
name: secrets
teacher:
  provider: openai
  model: fake-model
  base_url: http://127.0.0.1:{port}/v1
  max_retries: 0
  timeout: 5
  extra_body: {{api_key: {KEY}, authorization: "Bearer {KEY}", repetition_penalty: 1.05}}
judge:
  provider: openai
  model: fake-model
  base_url: "http://127.0.0.1:{port}/v1?key={KEY}&token={KEY}"
quality: {{rubric: overall}}
options: {{system_prompt: "Reply as key: value lines, token=word"}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {out}
""")
    url = f"http://user:{KEY}@127.0.0.1:{port}/v1?api-key={KEY}"
    console = []
    res = distill("run", str(cfg), "--no-progress", "--set", f"teacher.base_url={url}")
    console.append(res.stdout + res.stderr)
    assert res.returncode == 0, res.stderr
    bodies = teacher_server.bodies()
    assert any(b.get("api_key") == KEY for b in bodies)  # the key did reach the server, as asked
    assert read_jsonl(out / "failed.jsonl"), "some calls should have failed, so failed.jsonl quotes errors"
    assert read_jsonl(out / "data.jsonl")

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["teacher"]["base_url"] == f"http://user:***@127.0.0.1:{port}/v1?api-key=***"
    assert manifest["config"]["teacher"]["extra_body"] == {"api_key": "***", "authorization": "***",
                                                           "repetition_penalty": 1.05}
    assert manifest["judge"]["base_url"].endswith("/v1?key=***&token=***")
    assert "teacher.base_url=http://user:***@" in manifest["command"]
    assert manifest["config"]["options"]["system_prompt"] == "Reply as key: value lines, token=word"  # not a secret

    for args in (["show", str(out)], ["validate", str(cfg)], ["run", str(cfg), "--dry-run"]):
        r = distill(*args, "--set", f"teacher.base_url={url}") if args[0] != "show" else distill(*args)
        console.append(r.stdout + r.stderr)
    res = distill("push", str(out), "tester/secrets", env=_hub_env(hub, tmp_path))
    console.append(res.stdout + res.stderr)
    assert res.returncode == 0, res.stderr

    pushed = {f"hub:{k}": v for k, v in hub.repos["tester/secrets"].files.items()}
    pushed.update({f"hub-lfs:{k}": v for k, v in hub.lfs.items()})
    assert "hub:README.md" in pushed and "hub:distill/default/manifest.json" in pushed
    written = {**_files(out), **pushed, **{f"console{i}": c.encode() for i, c in enumerate(console)}}
    assert _leaks(written) == []


def test_an_old_run_folders_manifest_is_redacted_when_pushed(tmp_path, teacher_server, hub):
    out = tmp_path / "run"
    inp = write_instructions(tmp_path / "in.jsonl", 2)
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: "
                                     f"'{teacher_server.url}'}}\ninput: {{path: {inp}}}\nout: {out}\n")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())  # as distill wrote it before redaction existed
    manifest["config"]["teacher"]["base_url"] = f"http://me:{KEY}@10.0.0.1/v1"
    manifest["command"] = f"distill run r.yaml --set teacher.base_url=http://me:{KEY}@10.0.0.1/v1"
    (out / "manifest.json").write_text(json.dumps(manifest))
    res = distill("push", str(out), "tester/old", env=_hub_env(hub, tmp_path))
    assert res.returncode == 0, res.stderr
    pushed = hub.repos["tester/old"].files
    assert _leaks({k: v for k, v in pushed.items()}) == []
    assert _leaks({"README.md": (out / "README.md").read_bytes()}) == []


@pytest.mark.slow
@pytest.mark.parametrize("pasted", [KEY, "hf_AbCdEfGhIjKlMnOpQrStUv0123", "3f9a0c1d2b7e4f6a8c9d0e1f2a3b4c5d"])
def test_a_key_pasted_into_api_key_env_is_refused_without_echoing_it(tmp_path, pasted):
    inp = write_instructions(tmp_path / "in.jsonl", 1)
    cfg = write(tmp_path / "r.yaml", "recipe: respond\nteacher: {provider: openai, model: m, base_url: "
                                     f"'http://127.0.0.1:9/v1', api_key_env: '{pasted}'}}\ninput: {{path: {inp}}}\n"
                                     f"out: {tmp_path / 'run'}\n")
    on_the_command_line = ["validate", str(cfg), "--set", "teacher.api_key_env=MY_KEY", "--set",
                           f"teacher.api_key_env={pasted}"]
    for args in (["validate", str(cfg)], ["run", str(cfg), "--no-progress"], on_the_command_line):
        res = distill(*args)
        assert res.returncode == 2, res.stderr
        assert "api_key_env must be the NAME of an environment variable" in res.stderr
        assert pasted not in res.stdout + res.stderr and pasted[-8:] not in res.stdout + res.stderr
    assert not (tmp_path / "run").exists()


def _echoing(status: int) -> ErrorServer:
    """A teacher that answers every call with an error whose body echoes the request's headers (the bearer
    key), a terminal escape show (clear screen, set the window title, a bidi override), NUL bytes, and 50 KB."""

    def body(headers: Message) -> bytes:
        echoed = "\n".join(f"{k}: {v}" for k, v in headers.items())
        return (f'{{"error": "upstream said no", "request": "{echoed}"}}\x1b[2J\x1b[31mRED\x1b[0m'
                f"\x1b]0;owned\x07\x00\u202egnp.exe\n" + "A" * 50_000).encode()

    return ErrorServer(status, body, "text/plain")


@pytest.mark.slow
@pytest.mark.parametrize("status", [500, 401])
def test_echoed_headers_and_escapes_in_error_bodies_are_sanitised(tmp_path, status):
    res, out = respond_against(_echoing(status), tmp_path, KEY)
    console = res.stdout + res.stderr
    assert "Traceback" not in console
    written = {**_files(out), "console": console.encode()} if out.exists() else {"console": console.encode()}
    assert _leaks(written) == []
    for name, blob in written.items():
        if name.endswith((".sqlite", ".png")):
            continue  # binary (the cache, the report's plot image); holds no error text
        assert b"\x1b" not in blob and b"\x00" not in blob and "\u202e".encode() not in blob, name
    if status == 500:  # retries ran out: each item is recorded as failed, with a short, clean error
        failed = read_jsonl(out / "failed.jsonl")
        assert len(failed) == 3
        for row in failed:
            assert "upstream said no" in row["error"] and "Authorization: Bearer ***" in row["error"]
            assert len(row["error"]) < 600
    else:  # the key was refused: the run stops with the server's words, cleaned
        assert res.returncode == 1 and "rejected the API key (HTTP 401)" in res.stderr
        assert max(len(line) for line in res.stderr.splitlines()) < 600


def test_show_does_not_pass_a_models_terminal_escapes_to_the_terminal(tmp_path, teacher_server):
    reply = "fine \x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m \u202eevil done"
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": f"Say it [[reply:{reply}]]"}) + "\n")
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: {{provider: openai, model: m, base_url: "
                                     f"'{teacher_server.url}'}}\ninput: {{path: {inp}}}\nout: {out}\n")
    assert distill("run", str(cfg), "--no-progress").returncode in (0, 1)  # 1: every row rejected
    kept = read_jsonl(out / "data.jsonl") + read_jsonl(out / "rejected.jsonl")  # accepted, or rejected as unclean
    assert "\\u001b]0;owned" in json.dumps(kept)  # the files keep what was said (JSON-escaped)
    shown = ""
    for extra in ([], ["--rejected"]):
        res = distill("show", str(out), "--full", *extra)
        assert res.returncode == 0, res.stderr
        shown += res.stdout
    assert "fine" in shown and "evil done" in shown
    assert "\x1b" not in shown and "\u202e" not in shown
