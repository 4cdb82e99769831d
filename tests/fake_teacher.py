"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

Run it as a process (`python tests/fake_teacher.py --latency 0.5 --jitter 0.2`; it prints its port first) or
use `FakeTeacher` from Python, which starts that process and talks to its control endpoints:

* `POST /v1/chat/completions` — answers deterministically from the prompt: "Answer <h> to: <start of the last
  user message>" where <h> is a hash of (messages, sample params), so a test can tell which request an answer
  belongs to. `n` choices. A user message containing `[[truncate]]` gets finish_reason "length"; `[[reply:TEXT]]`
  makes TEXT the reply (a `tool` message after the last user turn is matched as "[tool] <content>");
  `rules` in the config, [{"match": REGEX, "reply": TEMPLATE}], reply with the first
  matching rule's template expanded with the match's groups (\\1, \\g<name>) and {h} replaced by a per-request
  id; a rule may also set "finish_reason", "delay" (seconds before answering) and "tool_calls" ([{name,
  arguments}]: a native tool-call reply, content null, finish_reason "tool_calls"). This is how tests script judges
  and recipe stages.
* Faults, each a probability per request: `fail` (HTTP 500), `rate` (429 + Retry-After), `drop` (connection closed
  with no response), `garbage` (200 with a non-JSON body), `slow` (sleeps `slow_seconds` before answering).
* Refusals: `api_key` set -> 401 for any other key; `models` set -> 404 for any other model;
  `max_prompt_chars` -> 400 "maximum context length" when the prompt is longer.
* `limit_rps`: at most that many requests in any 1-second window, else 429 (a provider's rate limit); `GET
  /arrivals` gives every request's arrival time.
* Latency: `latency` + U(0, `jitter`), or lognormal with median `latency` and sigma `sigma` when `sigma` > 0.
* `serial: true` — one request computed at a time, as llama-cpp-python's server does: the others wait in line, and
  a request whose client gave up waiting is still computed (`computed` in /stats counts them all).
* `tools`: "native" (default: a rule's "tool_calls" answer a request), "ignore" (the `tools` parameter is dropped,
  as by a server without tool calling: a rule's "reply" text answers instead), "refuse" (a request with `tools`
  gets llama.cpp's HTTP 500 "tools param requires --jinja flag").
* `stops: true` — honour the request's `stop` strings as llama.cpp and vLLM do: the reply is cut at the first
  occurrence of any of them, at its very start too (finish_reason "stop").
* `raw: true` — also serve `POST /v1/completions` (a plain `prompt`, answered like a chat whose last user message
  is the prompt: same rules, `choices[i].text`) and llama-server's `POST /apply-template` (the messages rendered
  in ChatML, generation prompt included); `raw: "vllm"` serves vLLM's `/tokenize` (messages) and `/detokenize`
  instead of /apply-template; `raw: "completions"` serves /v1/completions alone (no template endpoint, as
  llama-cpp-python's server); without `raw` all of them answer 404 (a chat-only server).
* `GET /stats` — counters, `answered` (200s with a completion), `max_in_flight`; `GET /log` — the <h> of every
  answered request in order; `GET /last` — the last request body; `POST /config` — replace the settings and reset
  counters.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import math
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

DEFAULTS: dict[str, Any] = {
    "latency": 0.0, "jitter": 0.0, "sigma": 0.0, "fail": 0.0, "rate": 0.0, "retry_after": 0.2, "drop": 0.0,
    "garbage": 0.0, "slow": 0.0, "slow_seconds": 30.0, "api_key": None, "models": None,
    "max_prompt_chars": None, "rules": [], "seed": 1234, "reply_words": 0, "limit_rps": None, "raw": False,
    "stops": False, "serial": False, "tools": "native",
}


def request_hash(body: dict[str, Any]) -> str:
    keyed = {k: body.get(k) for k in ("messages", "n", "seed", "temperature", "top_p", "max_tokens")}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:16]


class State:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = {**DEFAULTS, **cfg}
        self.rng = random.Random(self.cfg["seed"])
        self.stats: dict[str, int] = {"requests": 0, "answered": 0, "fail": 0, "rate": 0, "drop": 0,
                                      "garbage": 0, "slow": 0, "refused": 0, "abandoned": 0, "in_flight": 0,
                                      "max_in_flight": 0, "computed": 0}
        self.log: list[str] = []
        self.last: dict[str, Any] = {}
        self.bodies: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.window: collections.deque[float] = collections.deque()
        self.serial = asyncio.Lock()  # `serial: true`: the one request being computed


def make_app(state: State) -> Any:
    from aiohttp import web

    async def chat(request: web.Request) -> web.StreamResponse:
        cfg, st = state.cfg, state.stats
        st["requests"] += 1
        st["in_flight"] += 1
        st["max_in_flight"] = max(st["max_in_flight"], st["in_flight"])
        try:
            return await _chat(request, cfg, st)
        finally:
            st["in_flight"] -= 1

    async def _chat(request: web.Request, cfg: dict[str, Any], st: dict[str, int]) -> web.StreamResponse:
        body = await request.json()
        state.last = body
        state.bodies.append(body)
        if cfg["api_key"] and request.headers.get("Authorization") != f"Bearer {cfg['api_key']}":
            st["refused"] += 1
            return web.json_response({"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}},
                                     status=401)
        if cfg["models"] and body.get("model") not in cfg["models"]:
            st["refused"] += 1
            return web.json_response({"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                                "code": "model_not_found"}}, status=404)
        now = time.monotonic()
        state.arrivals.append(now)
        if cfg["limit_rps"]:  # a provider's rate limit: at most limit_rps requests in any 1-second window
            window = state.window
            window.append(now)
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) > cfg["limit_rps"]:
                window.pop()
                st["rate"] += 1
                return web.json_response({"error": {"message": "Rate limit reached"}}, status=429,
                                         headers={"Retry-After": "1"})
        if body.get("tools") and cfg["tools"] == "refuse":
            st["refused"] += 1
            return web.json_response({"error": {"code": 500, "message": "tools param requires --jinja flag",
                                                "type": "server_error"}}, status=500)
        prompt = "".join(m.get("content") or "" for m in body["messages"])
        if cfg["max_prompt_chars"] and len(prompt) > cfg["max_prompt_chars"]:
            st["refused"] += 1
            return web.json_response({"error": {"message": "This model's maximum context length is 128 tokens.",
                                                "code": "context_length_exceeded"}}, status=400)
        delay = _latency(state) + _rule_delay(body, cfg)
        if cfg["serial"]:  # shielded: a client that stops waiting does not stop the computation
            await asyncio.shield(_computed_in_turn(state, delay))
        else:
            await asyncio.sleep(delay)
        r = state.rng.random()
        for fault in ("fail", "rate", "drop", "garbage", "slow"):
            if r < cfg[fault]:
                st[fault] += 1
                if fault == "fail":
                    return web.json_response({"error": {"message": "internal error"}}, status=500)
                if fault == "rate":
                    return web.json_response({"error": {"message": "Rate limit reached"}}, status=429,
                                             headers={"Retry-After": str(cfg["retry_after"])})
                if fault == "drop":
                    request.transport.close()  # type: ignore[union-attr]
                    raise asyncio.CancelledError
                if fault == "garbage":
                    return web.Response(text="<html>502 upstream hiccup</html>", content_type="text/html")
                await asyncio.sleep(cfg["slow_seconds"])
                break
            r -= cfg[fault]
        if request.transport is None or request.transport.is_closing():
            st["abandoned"] += 1  # the client gave up (timeout) before the answer: it never receives it
            return web.Response(status=499)
        h = request_hash(body)
        n = int(body.get("n") or 1)
        choices = [_choice(i, body, h, cfg) for i in range(n)]
        state.log.append(h)
        st["answered"] += 1
        return web.json_response({
            "id": f"chatcmpl-{h}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model"), "choices": choices,
            "usage": {"prompt_tokens": len(prompt) // 4 + 1, "completion_tokens": sum(
                len(c["message"]["content"] or json.dumps(c["message"].get("tool_calls"))) // 4 + 1
                for c in choices), "total_tokens": 0}})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(state.stats)

    async def log(request: web.Request) -> web.Response:
        return web.json_response(state.log)

    async def last(request: web.Request) -> web.Response:
        return web.json_response(state.last)

    async def bodies(request: web.Request) -> web.Response:
        return web.json_response(state.bodies)

    async def arrivals(request: web.Request) -> web.Response:
        return web.json_response(state.arrivals)

    async def config(request: web.Request) -> web.Response:
        new = State(await request.json())
        state.cfg, state.rng, state.stats, state.log, state.bodies = new.cfg, new.rng, new.stats, new.log, []
        state.arrivals, state.window = [], collections.deque()
        return web.json_response({"ok": True})

    async def completions(request: web.Request) -> web.Response:
        if state.cfg["raw"] not in (True, "vllm", "completions"):
            return web.json_response({"error": {"message": "Not Found"}}, status=404)
        body = await request.json()
        state.bodies.append(body)
        chat_like = {**body, "messages": [{"role": "user", "content": body["prompt"]}]}
        h = request_hash(chat_like)
        choices = [_choice(i, chat_like, h, state.cfg) for i in range(int(body.get("n") or 1))]
        state.stats["answered"] += 1
        return web.json_response({"id": f"cmpl-{h}", "object": "text_completion", "model": body.get("model"),
                                  "choices": [{"index": c["index"], "text": c["message"]["content"],
                                               "finish_reason": c["finish_reason"]} for c in choices],
                                  "usage": {"prompt_tokens": len(body["prompt"]) // 4 + 1, "completion_tokens": 1}})

    def chatml(messages: list[dict[str, str]]) -> str:
        return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + \
            "<|im_start|>assistant\n"

    async def apply_template(request: web.Request) -> web.Response:  # llama-server's
        if state.cfg["raw"] is not True:
            return web.json_response({"error": {"message": "Not Found"}}, status=404)
        return web.json_response({"prompt": chatml((await request.json())["messages"])})

    async def tokenize(request: web.Request) -> web.Response:  # vLLM's, with messages; one "token" per character
        if state.cfg["raw"] != "vllm":
            return web.json_response({"error": {"message": "Not Found"}}, status=404)
        return web.json_response({"tokens": [ord(c) for c in chatml((await request.json())["messages"])]})

    async def detokenize(request: web.Request) -> web.Response:
        return web.json_response({"prompt": "".join(map(chr, (await request.json())["tokens"]))})

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/apply-template", apply_template)
    app.router.add_post("/tokenize", tokenize)
    app.router.add_post("/detokenize", detokenize)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/stats", stats)
    app.router.add_get("/log", log)
    app.router.add_get("/last", last)
    app.router.add_get("/bodies", bodies)
    app.router.add_get("/arrivals", arrivals)
    app.router.add_post("/config", config)
    return app


def _rule_delay(body: dict[str, Any], cfg: dict[str, Any]) -> float:
    """A matching rule's `delay` (seconds): how a test makes one chosen request slow."""
    # the last user turn, or a tool result after it ("[tool] " + its content: rules can answer results)
    last_user = next((m["content"] if m["role"] == "user" else f"[tool] {m['content']}"
                      for m in reversed(body["messages"]) if m["role"] in ("user", "tool")), "")
    rule = next((r for r in cfg["rules"] if re.search(r["match"], last_user, re.S)), None)
    return float(rule.get("delay", 0.0)) if rule else 0.0


async def _computed_in_turn(state: State, delay: float) -> None:
    async with state.serial:
        await asyncio.sleep(delay)
        state.stats["computed"] += 1


def _latency(state: State) -> float:
    cfg = state.cfg
    if cfg["sigma"] > 0:
        return cfg["latency"] * math.exp(state.rng.gauss(0, cfg["sigma"]))
    return cfg["latency"] + state.rng.random() * cfg["jitter"]


def _choice(i: int, body: dict[str, Any], h: str, cfg: dict[str, Any]) -> dict[str, Any]:
    # the last user turn, or a tool result after it ("[tool] " + its content: rules can answer results)
    last_user = next((m["content"] if m["role"] == "user" else f"[tool] {m['content']}"
                      for m in reversed(body["messages"]) if m["role"] in ("user", "tool")), "")
    text = f"Answer {h}-{i} to: {last_user[:60]}"
    finish = "length" if "[[truncate]]" in last_user else "stop"
    for rule in cfg["rules"]:
        found = re.search(rule["match"], last_user, re.S)
        if found:
            text = found.expand(rule["reply"]).replace("{h}", f"{h}x{i}")
            finish = rule.get("finish_reason", finish)
            break
    m = re.search(r"\[\[reply:(.*?)\]\]", last_user, re.S)
    if m:
        text = m.group(1)
    if cfg["reply_words"]:
        text += " " + " ".join(f"w{j}" for j in range(cfg["reply_words"]))
    if cfg["stops"]:  # as llama.cpp and vLLM do: cut at the first occurrence of any stop, at position 0 too
        stop = body.get("stop")
        ends = [k for k in (text.find(s) for s in ([stop] if isinstance(stop, str) else stop or [])) if k >= 0]
        if ends:
            text, finish = text[:min(ends)], "stop"
    message: dict[str, Any] = {"role": "assistant", "content": text}
    calls = next((r.get("tool_calls") for r in cfg["rules"] if re.search(r["match"], last_user, re.S)), None)
    if calls is not None and body.get("tools") and cfg["tools"] == "native":  # a native tool-call reply: OpenAI's
        # form, content null (only to a request that offered tools, as real servers do)
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{h}_{k}", "type": "function", "function": {"name": c["name"],
                                                                    "arguments": json.dumps(c["arguments"])}}
            for k, c in enumerate(calls)]}
        finish = "tool_calls"
    return {"index": i, "message": message, "finish_reason": finish}


class FakeTeacher:
    """Starts the server in its own process (its own core, like a real teacher) and controls it."""

    def __init__(self, **cfg: Any) -> None:
        self.cfg = cfg
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def command(self) -> list[str]:
        """The server process to start: the module the (sub)class is defined in, run as a script with `--config`
        (the other scripted servers in tests/ subclass this and end with `serve_from_args(make_app, __doc__)`)."""
        return [sys.executable, sys.modules[type(self).__module__].__file__ or __file__, "--config",
                json.dumps(self.cfg)]

    def __enter__(self) -> FakeTeacher:
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline().strip())
        for _ in range(200):  # the port is bound before the app listens: wait until it answers
            try:
                self.stats()
                break
            except OSError:
                time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, int]:
        return self._get("/stats")  # type: ignore[no-any-return]

    def log(self) -> list[str]:
        return self._get("/log")  # type: ignore[no-any-return]

    def last(self) -> dict[str, Any]:
        """The body of the last chat-completion request the server received."""
        return self._get("/last")  # type: ignore[no-any-return]

    def bodies(self) -> list[dict[str, Any]]:
        """Every chat-completion request body received since the last configure()."""
        return self._get("/bodies")  # type: ignore[no-any-return]

    def arrivals(self) -> list[float]:
        return self._get("/arrivals")  # type: ignore[no-any-return]

    def configure(self, **cfg: Any) -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/config", data=json.dumps(cfg).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=10).read()
        self.cfg = cfg


def serve_from_args(make_app: Any, doc: str | None) -> None:
    """A scripted server's `__main__`: `--config JSON` -> `make_app(config)`, served on a free 127.0.0.1 port that
    is printed first (FakeTeacher reads it)."""
    from aiohttp import web

    ap = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    ap.add_argument("--config", default="{}")
    args = ap.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    web.run_app(make_app(json.loads(args.config)), sock=sock, print=None, access_log=None)


def main() -> None:
    from aiohttp import web

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="{}", help="JSON object of settings (see DEFAULTS)")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(sock.getsockname()[1], flush=True)
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    web.run_app(make_app(State(json.loads(args.config))), sock=sock, print=None, access_log=None,
                backlog=4096)


if __name__ == "__main__":
    main()
