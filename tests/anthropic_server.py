"""A scripted Anthropic Messages API on 127.0.0.1 that answers the way Claude does, for tests.

Run it as a process (`python tests/anthropic_server.py --config '{...}'`, prints its port) or use
`AnthropicServer` (a `FakeTeacher` that starts this script). Its base URL is the API root (`url`, no /v1),
as for the official `anthropic` client.

* `POST /v1/messages` — checks what the real API checks: the `anthropic-version` header (2023-06-01, or 2026-10-21,
  which refuses `temperature`, `top_p` and `top_k` as extra inputs), the key (when `api_key` is set: `x-api-key`, or
  `Authorization: Bearer` as the 2.x SDKs send it; 401 authentication_error otherwise), `model`, `max_tokens` and
  `messages` present, no other top-level field than the API's (an OpenAI-only `n`, `seed` or `response_format` is a
  400 "Extra inputs are not permitted"), no "system" role inside `messages`, non-empty content, `temperature` within
  0..1 and not together with `top_p`, no whitespace-only stop sequence. The answer is a Message: content blocks (a
  `thinking` block first when the request enables thinking; the text in one or two text blocks; a chatty lead-in on
  about half the replies), `stop_reason` (end_turn, stop_sequence honouring `stop_sequences`, max_tokens when the
  text is longer than `max_tokens` * 4 characters), `usage` input/output tokens. Text: "Answer <h> to: <start of the
  last user message>", or the first of `rules` [{"match": REGEX, "reply": TEMPLATE}] that matches the last user
  message ({h} is a per-request id), or the `[[reply:TEXT]]` marker's TEXT. A rule's "tool_calls" ([{name,
  arguments}]) adds `tool_use` blocks (stop_reason tool_use) when the request has `tools`; a user turn of
  `tool_result` blocks is matched as "[tool] <contents>", and each must answer a `tool_use` of the turn before.
* Faults: `overloaded` N — the first N requests get 529 overloaded_error; `rate_limited` N — the next N get 429
  rate_limit_error with `retry-after: retry_after`; `fail` p — HTTP 500 api_error with probability p (seeded);
  `max_prompt_chars` — 400 invalid_request_error "prompt is too long: N tokens > M maximum".
* Message Batches: `POST /v1/messages/batches` (inline `requests`, `custom_id` unique and ^[a-zA-Z0-9_-]{1,64}$,
  at most `max_batch_requests`), `GET /v1/messages/batches/{id}` (in_progress for `polls_to_end` polls, then
  ended with a `results_url`), `GET /v1/messages/batches/{id}/results` (JSONL: succeeded / errored / expired /
  canceled), `POST .../{id}/cancel`. A request whose last user message holds `[[expire]]` expires the first time
  it is in a batch, `[[batch_error]]` errors with api_error the first time; an invalid request errors with
  invalid_request_error (as the real API does: validation happens per request, after creation).
  What a provider may get wrong after it was paid: `results_fault` (`cut`, `array` or `oops`, see
  `batch_books.damaged`: the results of the first batch that ends are served so damaged, every time),
  `statusless_polls` (the first N GETs of a batch answer `{"id", "type"}` alone, no `processing_status`),
  `missing_results` (the first N GETs of a batch's results answer 404), `nameless_creates` (the first N batches
  made are answered without their id).
* `GET /stats` (counters; `batch_lines` every request line received, `custom_ids` how often each custom_id
  was submitted), `GET /bodies` (every /v1/messages body), `GET /headers` (the last request's headers),
  `POST /config` (new settings, counters reset).
"""

from __future__ import annotations

import collections
import hashlib
import json
import random
import re
import sys
from typing import Any

from batch_books import BatchBooks, config_arg, damaged, serve
from fake_teacher import FakeTeacher

DEFAULTS: dict[str, Any] = {"api_key": None, "rules": [], "overloaded": 0, "rate_limited": 0, "retry_after": 0.2,
                            "fail": 0.0, "max_prompt_chars": None, "seed": 7, "polls_to_end": 2,
                            "max_batch_requests": 100_000, "results_fault": None,
                            "statusless_polls": 0, "missing_results": 0,
                            "nameless_creates": 0}
FIELDS = {"model", "messages", "max_tokens", "system", "stop_sequences", "stream", "metadata", "thinking", "tools",
          "tool_choice", "service_tier", "container", "mcp_servers", "cache_control", "diagnostics", "inference_geo",
          "output_config", "speed", "user_profile_id", "workspace_id"}
SAMPLING = {"temperature", "top_p", "top_k"}  # accepted by anthropic-version 2023-06-01 only
LEAD_INS = ["Certainly! Here's my answer.\n\n", "Great question! Let me explain.\n\n", "", ""]
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class State:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = {**DEFAULTS, **cfg}
        self.rng = random.Random(self.cfg["seed"])
        self.stats: dict[str, Any] = collections.Counter()
        self.samples: collections.Counter[str] = collections.Counter()  # identical requests answered so far
        self.bodies: list[dict[str, Any]] = []
        self.headers: dict[str, str] = {}
        self.books = BatchBooks()  # batches, request lines per custom_id, polls, one-time faults (by params)


def error(kind: str, message: str, status: int, **headers: str) -> Any:
    from aiohttp import web

    return web.json_response({"type": "error", "error": {"type": kind, "message": message},
                              "request_id": f"req_{random.getrandbits(48):012x}"}, status=status, headers=headers)


def text_of(content: Any) -> str:
    """A message's text: a string, or the text of its content blocks."""
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return content if isinstance(content, str) else ""


def invalid(body: dict[str, Any], cfg: dict[str, Any], version: str = "2023-06-01") -> tuple[str, str] | None:
    """(error type, message) when the real API would refuse these Message params, else None."""
    allowed = FIELDS | (SAMPLING if version == "2023-06-01" else set())
    for field in body:
        if field not in allowed:
            return "invalid_request_error", f"{field}: Extra inputs are not permitted"
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            return "invalid_request_error", f"{field}: Field required"
    for i, m in enumerate(body["messages"]):
        if m.get("role") not in ("user", "assistant"):
            return "invalid_request_error", (f"messages.{i}.role: Input should be 'user' or 'assistant'"
                                             if m.get("role") != "system" else
                                             'messages: Unexpected role "system". The Messages API accepts a '
                                             "top-level `system` parameter, not \"system\" as an input message role.")
        content = m.get("content")
        if not (content if isinstance(content, list) else text_of(content)) and i < len(body["messages"]) - 1:
            return "invalid_request_error", f"messages.{i}: all messages must have non-empty content"
    temp = body.get("temperature")
    if temp is not None and not 0 <= temp <= 1:
        return "invalid_request_error", "temperature: range: 0..1"
    if temp is not None and body.get("top_p") is not None:
        return "invalid_request_error", "`temperature` and `top_p` cannot both be specified for this model."
    unanswered = unanswered_tools(body["messages"])
    if unanswered:
        return "invalid_request_error", unanswered
    if any(not s.strip() for s in body.get("stop_sequences") or []):
        return "invalid_request_error", "stop_sequences: each stop sequence must contain non-whitespace"
    prompt = text_of(body.get("system", "")) + "".join(text_of(m.get("content")) for m in body["messages"])
    if cfg["max_prompt_chars"] and len(prompt) > cfg["max_prompt_chars"]:
        return "invalid_request_error", (f"prompt is too long: {len(prompt) // 4 + 1} tokens > "
                                         f"{cfg['max_prompt_chars'] // 4} maximum")
    return None


def last_user(body: dict[str, Any]) -> str:
    """The last user turn's text; a turn of tool results reads "[tool] <their contents>" (rules can answer them)."""
    for m in reversed(body["messages"]):
        if m["role"] != "user":
            continue
        results = [b for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result"] \
            if isinstance(m["content"], list) else []
        return "[tool] " + " ".join(str(b.get("content")) for b in results) if results else text_of(m["content"])
    return ""


def unanswered_tools(messages: list[dict[str, Any]]) -> str | None:
    """The API's rule for tools: every tool_result answers a tool_use of the assistant turn just before it."""
    for i, m in enumerate(messages):
        blocks = m["content"] if isinstance(m.get("content"), list) else []
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                before = messages[i - 1]["content"] if i and isinstance(messages[i - 1].get("content"), list) else []
                ids = {u.get("id") for u in before if isinstance(u, dict) and u.get("type") == "tool_use"}
                if b.get("tool_use_id") not in ids:
                    return (f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{b.get('tool_use_id')}. Each `tool_result` block must have a corresponding `tool_use` "
                            "block in the previous message.")
    return None


def message(body: dict[str, Any], cfg: dict[str, Any], seen: collections.Counter[str] | None = None
            ) -> dict[str, Any]:
    """The Message Claude would answer `body` with: a function of the body, and, as Claude samples unless the
    temperature is 0, of how many identical requests came before it (`seen`)."""
    keyed = {k: body.get(k) for k in ("system", "messages", "temperature", "max_tokens")}
    h = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:16]
    if seen is not None and body.get("temperature") != 0:
        seen[h] += 1
        if seen[h] > 1:
            h = hashlib.sha256(f"{h}/{seen[h]}".encode()).hexdigest()[:16]
    user = last_user(body)
    text = f"{LEAD_INS[int(h[0], 16) % 4]}Answer {h} to: {user[:60]}"
    for rule in cfg["rules"]:
        found = re.search(rule["match"], user, re.S)
        if found:
            text = found.expand(rule["reply"]).replace("{h}", h)
            break
    marker = re.search(r"\[\[reply:(.*?)\]\]", user, re.S)
    if marker:
        text = marker.group(1)
    stop_reason, stop_sequence = "end_turn", None
    cut = min(((text.find(s), s) for s in body.get("stop_sequences") or [] if s in text), default=None)
    if cut is not None:
        text, stop_reason, stop_sequence = text[:cut[0]], "stop_sequence", cut[1]
    if len(text) > body["max_tokens"] * 4:
        text, stop_reason = text[:body["max_tokens"] * 4], "max_tokens"
    blocks: list[dict[str, Any]] = []
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        blocks.append({"type": "thinking", "thinking": f"PONDERING {h}: the user wants {user[:30]!r}.",
                       "signature": "EqQBCkYIARgCIkB" + h})
    half = len(text) // 2 if int(h[1], 16) % 2 else len(text)
    blocks += [{"type": "text", "text": part} for part in (text[:half], text[half:]) if part]
    calls = next((r.get("tool_calls") for r in cfg["rules"] if re.search(r["match"], user, re.S)), None)
    if calls is not None and body.get("tools"):  # a tool-use reply: text (if any), then one block per call
        blocks += [{"type": "tool_use", "id": f"toolu_{h}{k}", "name": c["name"], "input": c["arguments"]}
                   for k, c in enumerate(calls)]
        stop_reason = "tool_use"
    prompt = text_of(body.get("system", "")) + "".join(text_of(m.get("content")) for m in body["messages"])
    return {"id": f"msg_01{h}", "type": "message", "role": "assistant", "model": body["model"], "content": blocks,
            "stop_reason": stop_reason, "stop_sequence": stop_sequence,
            "usage": {"input_tokens": len(prompt) // 4 + 1, "output_tokens": len(text) // 4 + 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "service_tier": "standard"}}


def make_app(state: State) -> Any:
    from aiohttp import web

    def refuse_headers(request: web.Request) -> Any:
        state.headers = dict(request.headers)
        if request.headers.get("anthropic-version") not in ("2023-06-01", "2026-10-21"):
            return error("invalid_request_error", "anthropic-version: header is required (2023-06-01 or 2026-10-21)",
                         400)
        key = state.cfg["api_key"]  # x-api-key wins when both are sent; the 2.x SDKs send a bearer token
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if key and given != key:
            state.stats["refused"] += 1
            return error("authentication_error", "invalid x-api-key", 401)
        return None

    async def messages(request: web.Request) -> web.Response:
        cfg, st = state.cfg, state.stats
        st["requests"] += 1
        refused = refuse_headers(request)
        if refused is not None:
            return refused
        body = await request.json()
        state.bodies.append(body)
        if st["overloaded"] < cfg["overloaded"]:
            st["overloaded"] += 1
            return error("overloaded_error", "Overloaded", 529)
        if st["rate_limited"] < cfg["rate_limited"]:
            st["rate_limited"] += 1
            return error("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
                         429, **{"retry-after": str(cfg["retry_after"])})
        if state.rng.random() < cfg["fail"]:
            st["failed"] += 1
            return error("api_error", "Internal server error", 500)
        problem = invalid(body, cfg, request.headers["anthropic-version"])
        if problem is not None:
            st["invalid"] += 1
            return error(*problem, 400)
        st["answered"] += 1
        return web.json_response(message(body, cfg, state.samples), headers={"request-id": f"req_{st['requests']:08d}"})

    def batch_view(request: web.Request, batch: dict[str, Any]) -> dict[str, Any]:
        n, ended = len(batch["requests"]), batch["status"] == "ended"
        counts = {"processing": 0 if ended else n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for result in batch.get("results", {}).values():
            counts[result["type"]] += 1
        root = f"http://{request.host}"
        return {"id": batch["id"], "type": "message_batch", "processing_status": batch["status"],
                "request_counts": counts, "ended_at": "2026-12-01T00:10:00Z" if ended else None,
                "created_at": "2026-12-01T00:00:00Z", "expires_at": "2026-12-02T00:00:00Z", "archived_at": None,
                "cancel_initiated_at": None,
                "results_url": f"{root}/v1/messages/batches/{batch['id']}/results" if ended else None}

    async def create_batch(request: web.Request) -> web.Response:
        refused = refuse_headers(request)
        if refused is not None:
            return refused
        body = await request.json()
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            return error("invalid_request_error", "requests: Field required", 400)
        if len(requests) > state.cfg["max_batch_requests"]:
            return error("invalid_request_error", f"requests: at most {state.cfg['max_batch_requests']} requests", 400)
        ids = [r.get("custom_id") for r in requests]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and CUSTOM_ID.match(i) for i in ids):
            return error("invalid_request_error", "requests: custom_id must be unique and match ^[a-zA-Z0-9_-]{1,64}$",
                         400)
        batch_id = f"msgbatch_01{len(state.books.batches):06d}{random.getrandbits(32):08x}"
        state.books.add({"id": batch_id, "requests": requests, "status": "in_progress",
                         "version": request.headers["anthropic-version"]})
        state.books.received(ids)
        if state.books.made <= state.cfg["nameless_creates"]:
            return web.json_response({"type": "message_batch", "processing_status": "in_progress"})
        return web.json_response(batch_view(request, state.books.batches[batch_id]))

    def finish(batch: dict[str, Any], canceled: bool = False) -> None:
        results = {}
        for r in batch["requests"]:
            params, user = r["params"], last_user(r["params"]) if isinstance(r["params"].get("messages"), list) else ""
            once = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
            problem = invalid(params, state.cfg, batch["version"])
            if canceled:
                results[r["custom_id"]] = {"type": "canceled"}
            elif problem is not None:
                results[r["custom_id"]] = {"type": "errored", "error": {"type": "error", "error": {
                    "type": problem[0], "message": problem[1]}}}
            elif "[[expire]]" in user and state.books.first_fault(once):
                results[r["custom_id"]] = {"type": "expired"}
            elif "[[batch_error]]" in user and state.books.first_fault(once):
                results[r["custom_id"]] = {"type": "errored", "error": {"type": "error", "error": {
                    "type": "api_error", "message": "Internal server error"}}}
            else:
                results[r["custom_id"]] = {"type": "succeeded", "message": message(params, state.cfg, state.samples)}
        batch["results"], batch["status"] = results, "ended"
        if state.cfg["results_fault"] and not any(b.get("damaged") for b in state.books.batches.values()):
            batch["damaged"] = state.cfg["results_fault"]

    async def get_batch(request: web.Request) -> web.Response:
        refused = refuse_headers(request)
        if refused is not None:
            return refused
        batch = state.books.batches.get(request.match_info["id"])
        if batch is None:
            return error("not_found_error", f"batch {request.match_info['id']} not found", 404)
        if state.books.looked(batch, state.cfg["polls_to_end"]) and batch["status"] != "ended":
            finish(batch)
        if state.stats["statusless"] < state.cfg["statusless_polls"]:
            state.stats["statusless"] += 1
            return web.json_response({"id": batch["id"], "type": "message_batch"})
        return web.json_response(batch_view(request, batch))

    async def cancel_batch(request: web.Request) -> web.Response:
        batch = state.books.batches.get(request.match_info["id"])
        if batch is None:
            return error("not_found_error", "batch not found", 404)
        if batch["status"] != "ended":
            finish(batch, canceled=True)
        return web.json_response(batch_view(request, batch))

    async def batch_results(request: web.Request) -> web.Response:
        refused = refuse_headers(request)
        if refused is not None:
            return refused
        batch = state.books.batches.get(request.match_info["id"])
        if batch is None:
            return error("not_found_error", "batch not found", 404)
        if batch["status"] != "ended":
            return error("invalid_request_error", "results are not available until processing ends", 400)
        if state.stats["missing_results"] < state.cfg["missing_results"]:
            state.stats["missing_results"] += 1
            return error("not_found_error", "results not found", 404)
        state.stats["result_reads"] += 1
        lines = [json.dumps({"custom_id": cid, "result": result}).encode() for cid, result in batch["results"].items()]
        body = damaged(lines, batch["damaged"], "result") if batch.get("damaged") else b"".join(
            line + b"\n" for line in lines)
        return web.Response(body=body, content_type="application/binary")

    async def stats(request: web.Request) -> web.Response:
        books = state.books.counts()
        return web.json_response({**state.stats, "batches": books["batches"], "polls": books["polls"],
                                  "batch_lines": books["lines"], "custom_ids": books["custom_ids"]})

    async def bodies(request: web.Request) -> web.Response:
        return web.json_response(state.bodies)

    async def headers(request: web.Request) -> web.Response:
        return web.json_response(state.headers)

    async def config(request: web.Request) -> web.Response:
        new = State(await request.json())
        new.books.batches = state.books.batches  # the batches stay; their counts start again
        state.cfg, state.rng, state.stats, state.books = new.cfg, new.rng, new.stats, new.books
        state.samples = new.samples
        state.bodies = []
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=300 * 2**20)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/batches", create_batch)
    app.router.add_get("/v1/messages/batches/{id}", get_batch)
    app.router.add_post("/v1/messages/batches/{id}/cancel", cancel_batch)
    app.router.add_get("/v1/messages/batches/{id}/results", batch_results)
    app.router.add_get("/stats", stats)
    app.router.add_get("/bodies", bodies)
    app.router.add_get("/headers", headers)
    app.router.add_post("/config", config)
    return app


class AnthropicServer(FakeTeacher):
    """Starts the server in its own process; `url` is the API root (what `base_url` names)."""

    def command(self) -> list[str]:
        return [sys.executable, __file__, "--config", json.dumps(self.cfg)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self) -> dict[str, str]:
        return self._get("/headers")  # type: ignore[no-any-return]


def main() -> None:
    serve(make_app(State(config_arg())))


if __name__ == "__main__":
    main()
