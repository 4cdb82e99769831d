"""A scripted OpenAI Batch API on 127.0.0.1: the public files and batches endpoints, on top of `fake_teacher`'s
chat-completions server (same process, same replies, same `rules` for scripting recipe stages and judges).

* `POST /v1/files` (multipart: purpose=batch, file) -> a file object; `GET /v1/files/{id}` and
  `GET /v1/files/{id}/content` (the bytes).
* `POST /v1/batches` {input_file_id, endpoint, completion_window} -> a batch object, status `validating`
  (endpoint /v1/chat/completions, or /v1/completions — raw prompts, answered as `fake_teacher`'s /v1/completions
  answers them; a file with a line for another endpoint than the batch's is refused, 400);
  `GET /v1/batches/{id}`, `GET /v1/batches`, `POST /v1/batches/{id}/cancel`. Each GET of a batch moves it on;
  after `polls` GETs it ends: each line is answered as `fake_teacher` would answer it (output file), or put in the
  error file, and the status becomes `completed` (or `expired` when some entries expired).
* Behaviours (`POST /batch/config`, or the `batch` key of the server config): `polls` (GETs before a batch ends,
  default 2), `expire_pct` / `fail_pct` (percent of custom_ids that expire / meet a server error (HTTP 500), the
  first time only, chosen by a hash of the id), `refuse_match` (a regex of the last user message: HTTP 400
  invalid_request, every time), `expire_match` (a regex: such requests expire every time), `fail_batches`
  (the first N batches created fail as a whole, at validation),
  `max_prompt_chars` from the chat config (context_length_exceeded, as in the error file of a real batch),
  `create_delay` (seconds before `POST /v1/batches` answers: a run can be killed between upload and creation),
  `token_limit` (the enqueued-token limit: a batch whose prompt tokens, added to those of the batches still
  validating or in progress, pass it fails at validation with `token_limit_exceeded` and the message OpenAI
  writes, as OpenAI does), `token_limit_status` (an HTTP status: `POST /v1/batches` itself answers it with that
  error instead, as some compatible servers do), `revoke_after` (once N batches were made, every files and batches
  endpoint answers 401, as when the key is revoked mid-run).
  What a provider may get wrong after it was paid: `results_fault` (`cut`, `array` or `oops`, see
  `batch_books.damaged`: the output file of the first batch that ends is served so damaged, every time it is read),
  `statusless_polls` (the first N GETs of a batch answer `{"id", "object": "batch"}` alone, no status),
  `missing_files` (the first N GETs of a file's content answer 404), `output_file_id` (ended batches name this as
  their output file, e.g. `../../stolen/x?`), `nameless_creates` (the first N batches made are answered without
  their id).
* `GET /batch/stats`: every uploaded request line counted per custom_id (`uploads`), files, batches, polls,
  `creates`, `refused` (batches refused for the token limit), `enqueued_max` (the most tokens ever enqueued),
  `paths` (the raw path of every request to the server, in order) and `auth` (the Authorization headers seen).
  `POST /batch/forget`: every batch and file is forgotten (404 from now on), as after a key from another project.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import sys
import time
from typing import Any

from batch_books import BatchBooks, config_arg, damaged, serve
from fake_teacher import FakeTeacher, State, _choice, make_app, request_hash

BATCH_DEFAULTS: dict[str, Any] = {"polls": 2, "expire_pct": 0, "fail_pct": 0, "refuse_match": None,
                                  "fail_batches": 0, "create_delay": 0.0, "expire_match": None, "token_limit": None,
                                  "token_limit_status": None, "revoke_after": None, "results_fault": None,
                                  "statusless_polls": 0, "missing_files": 0, "output_file_id": None,
                                  "nameless_creates": 0}
RUNNING = ("validating", "in_progress", "finalizing")
ENDPOINTS = ("/v1/chat/completions", "/v1/completions")
HARNESS = {"/stats", "/log", "/last", "/bodies", "/arrivals", "/config"}  # fake_teacher's routes for the tests


def prompt_tokens(body: dict[str, Any]) -> int:
    """What a request's prompt counts for: its characters / 4, as the usage of the answer says."""
    text = body["prompt"] if "prompt" in body else "".join(m.get("content", "") for m in body["messages"])
    return len(text) // 4 + 1


class Batches(BatchBooks):
    def __init__(self, chat: State, cfg: dict[str, Any]) -> None:
        super().__init__()  # batches, request lines per custom_id (uploaded), polls, faulted custom_ids
        self.chat = chat
        self.cfg = {**BATCH_DEFAULTS, **cfg}
        self.files: dict[str, dict[str, Any]] = {}
        self.creates = 0  # POST /v1/batches received (counted before `create_delay`)
        self.refused = 0  # batches refused for the enqueued-token limit
        self.keyed_creates = 0  # batch creations the key was accepted for (`revoke_after`)
        self.enqueued_max = 0
        self.ids = itertools.count(1)
        self.damaged = 0  # output files served damaged (`results_fault`)
        self.statusless = 0  # polls answered without a status (`statusless_polls`)
        self.missing = 0  # file contents answered 404 (`missing_files`)
        self.paths: list[str] = []  # the raw path of every request
        self.auth: list[str] = []  # the Authorization headers seen, each once

    def new_file(self, content: bytes, purpose: str, filename: str) -> dict[str, Any]:
        file_id = f"file-{next(self.ids):06d}"
        meta = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                "filename": filename, "purpose": purpose, "status": "processed"}
        self.files[file_id] = {"meta": meta, "content": content}
        return meta

    def answer(self, line: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(output row, error row) for one request line."""
        cid, body = line["custom_id"], line["body"]
        raw = line.get("url") == "/v1/completions"  # a prompt, answered as fake_teacher's /v1/completions does
        if raw:
            body = {**body, "messages": [{"role": "user", "content": body["prompt"]}]}
        rid = f"batch_req_{hashlib.sha256(cid.encode()).hexdigest()[:24]}"
        pct = int(hashlib.sha256(cid.encode()).hexdigest()[:8], 16) % 100
        last_user = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        always = bool(self.cfg["expire_match"] and re.search(self.cfg["expire_match"], last_user))
        if always or (pct < self.cfg["expire_pct"] and self.first_fault(cid)):
            self.faulted.add(cid)
            return None, {"id": rid, "custom_id": cid, "response": None, "error": {
                "code": "batch_expired",
                "message": "This request could not be executed before the completion window expired."}}
        if self.cfg["expire_pct"] <= pct < self.cfg["expire_pct"] + self.cfg["fail_pct"] and self.first_fault(cid):
            return None, self._http_error(rid, cid, 500, "server_error", "The server had an error while "
                                          "processing your request. Sorry about that!")
        if self.cfg["refuse_match"] and re.search(self.cfg["refuse_match"], last_user):
            return None, self._http_error(rid, cid, 400, "invalid_request_error",
                                          "Invalid 'messages[1].content': the request was flagged.")
        prompt = "".join(m.get("content", "") for m in body["messages"])
        limit = self.chat.cfg.get("max_prompt_chars")
        if limit and len(prompt) > limit:
            return None, self._http_error(rid, cid, 400, "context_length_exceeded",
                                          "This model's maximum context length is 128 tokens.")
        h = request_hash(body)
        choices = [_choice(i, body, h, self.chat.cfg) for i in range(int(body.get("n") or 1))]
        self.chat.log.append(h)
        reply = {"id": f"chatcmpl-{h}", "object": "chat.completion", "created": int(time.time()),
                 "model": body.get("model"), "choices": choices,
                 "usage": {"prompt_tokens": prompt_tokens(body), "completion_tokens": sum(
                     len(c["message"]["content"]) // 4 + 1 for c in choices), "total_tokens": 0}}
        if raw:
            reply = {**reply, "id": f"cmpl-{h}", "object": "text_completion", "choices": [
                {"index": c["index"], "text": c["message"]["content"], "finish_reason": c["finish_reason"]}
                for c in choices]}
        return {"id": rid, "custom_id": cid, "response": {"status_code": 200, "request_id": rid, "body": reply},
                "error": None}, None

    @staticmethod
    def _http_error(rid: str, cid: str, status: int, code: str, message: str) -> dict[str, Any]:
        return {"id": rid, "custom_id": cid, "response": {"status_code": status, "request_id": rid, "body": {
            "error": {"message": message, "type": code, "param": None, "code": code}}}, "error": None}

    def advance(self, batch: dict[str, Any]) -> None:
        """One GET of a running batch: validating -> in_progress -> ... -> completed / expired."""
        ends = self.looked(batch, self.cfg["polls"])
        if batch["status"] not in ("validating", "in_progress"):
            return
        lines = batch["_lines"]
        if not ends:
            batch["status"] = "in_progress"
            batch["in_progress_at"] = batch["in_progress_at"] or int(time.time())
            batch["request_counts"]["completed"] = len(lines) * batch["_polls"] // (self.cfg["polls"] + 1)
            return
        out, err = [], []
        for line in lines:
            ok, bad = self.answer(line)
            (out if ok else err).append(ok or bad)
        batch["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}
        expired = any((e.get("error") or {}).get("code") == "batch_expired" for e in err)
        batch["status"] = "expired" if expired else "completed"
        batch["expired_at" if expired else "completed_at"] = int(time.time())
        if out:
            content = b"".join(json.dumps(r).encode() + b"\n" for r in out)
            if self.cfg["results_fault"] and not self.damaged:
                self.damaged += 1
                content = damaged([json.dumps(r).encode() for r in out], self.cfg["results_fault"], "response")
            batch["output_file_id"] = self.new_file(content, "batch_output", "batch_output.jsonl")["id"]
            if self.cfg["output_file_id"]:
                batch["output_file_id"] = self.cfg["output_file_id"]
        if err:
            batch["error_file_id"] = self.new_file(b"".join(json.dumps(r).encode() + b"\n" for r in err),
                                                   "batch_output", "batch_errors.jsonl")["id"]

    def enqueued(self) -> int:
        return sum(b["_tokens"] for b in self.batches.values() if b["status"] in RUNNING)

    def queue_full(self, lines: list[dict[str, Any]]) -> str | None:
        """OpenAI's message when a batch of `lines` would pass the enqueued-token limit, else None (and the
        batch is counted in)."""
        limit, tokens = self.cfg["token_limit"], sum(prompt_tokens(line["body"]) for line in lines)
        if limit is not None and self.enqueued() + tokens > limit:
            self.refused += 1
            model = lines[0]["body"].get("model") if lines else "?"
            return (f"Enqueued token limit reached for {model} in organization org-scripted. Limit: {limit:,} "
                    "enqueued tokens. Please try again once some in_progress batches have been completed.")
        self.enqueued_max = max(self.enqueued_max, self.enqueued() + tokens)
        return None

    def public(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if not k.startswith("_")}


def add_batch_routes(app: Any, state: State) -> None:
    from aiohttp import web

    batches = Batches(state, state.cfg.get("batch") or {})

    def missing(what: str) -> web.Response:
        return web.json_response({"error": {"message": f"No such {what}", "type": "invalid_request_error",
                                            "param": None, "code": None}}, status=404)

    async def create_file(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        purpose = str(form.get("purpose"))
        if upload is None or not hasattr(upload, "file"):
            return web.json_response({"error": {"message": "file is required"}}, status=400)
        content = upload.file.read()
        if purpose == "batch":
            for raw in content.splitlines():
                if raw.strip():
                    batches.received([json.loads(raw)["custom_id"]])
        return web.json_response(batches.new_file(content, purpose, upload.filename or "upload.jsonl"))

    async def get_file(request: web.Request) -> web.Response:
        found = batches.files.get(request.match_info["id"])
        return web.json_response(found["meta"]) if found else missing("file")

    async def file_content(request: web.Request) -> web.Response:
        found = batches.files.get(request.match_info["id"])
        if found is None:
            return missing("file")
        if batches.missing < batches.cfg["missing_files"]:
            batches.missing += 1
            return missing("file")
        return web.Response(body=found["content"], content_type="application/octet-stream")

    async def create_batch(request: web.Request) -> web.Response:
        body = await request.json()
        batches.creates += 1
        await asyncio.sleep(batches.cfg["create_delay"])
        found = batches.files.get(body.get("input_file_id"))
        if found is None:
            return missing("file")
        if body.get("endpoint") not in ENDPOINTS or body.get("completion_window") != "24h":
            return web.json_response({"error": {"message": "unsupported endpoint or window"}}, status=400)
        lines = [json.loads(raw) for raw in found["content"].splitlines() if raw.strip()]
        if any(line.get("url") != body["endpoint"] for line in lines):  # as OpenAI's validation refuses it
            return web.json_response({"error": {"message": "The provided file has requests for another endpoint "
                                                           f"than {body['endpoint']}", "code": "invalid_url"}},
                                     status=400)
        full = batches.queue_full(lines)
        if full and batches.cfg["token_limit_status"]:
            return web.json_response({"error": {"message": full, "type": "invalid_request_error", "param": None,
                                                "code": "token_limit_exceeded"}},
                                     status=batches.cfg["token_limit_status"])
        batch_id = f"batch_{next(batches.ids):06d}"
        batch = {"id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                 "input_file_id": body["input_file_id"], "completion_window": "24h", "status": "validating",
                 "output_file_id": None, "error_file_id": None, "created_at": int(time.time()),
                 "in_progress_at": None, "expires_at": int(time.time()) + 86400, "completed_at": None,
                 "failed_at": None, "expired_at": None, "request_counts": {"total": len(lines), "completed": 0,
                                                                            "failed": 0},
                 "metadata": body.get("metadata"), "_lines": lines,
                 "_tokens": sum(prompt_tokens(line["body"]) for line in lines)}
        if full:  # validation finds the queue full: the batch fails and holds no tokens
            batch.update(status="failed", failed_at=int(time.time()), errors={"object": "list", "data": [
                {"code": "token_limit_exceeded", "message": full, "param": None, "line": None}]})
        elif sum(1 for b in batches.batches.values() if b.get("_failed")) < batches.cfg["fail_batches"]:
            batch.update(status="failed", failed_at=int(time.time()), _failed=True, errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "The batch could not be validated (scripted failure).",
                 "param": None, "line": None}]})
        batches.add(batch)
        if batches.made <= batches.cfg["nameless_creates"]:
            return web.json_response({"object": "batch", "status": batch["status"]})
        return web.json_response(batches.public(batch))

    async def get_batch(request: web.Request) -> web.Response:
        batch = batches.batches.get(request.match_info["id"])
        if batch is None:
            return missing("batch")
        batches.advance(batch)
        if batches.statusless < batches.cfg["statusless_polls"]:
            batches.statusless += 1
            return web.json_response({"id": batch["id"], "object": "batch"})
        return web.json_response(batches.public(batch))

    async def list_batches(request: web.Request) -> web.Response:
        data = [batches.public(b) for b in reversed(batches.batches.values())]
        return web.json_response({"object": "list", "data": data, "has_more": False,
                                  "first_id": data[0]["id"] if data else None,
                                  "last_id": data[-1]["id"] if data else None})

    async def cancel_batch(request: web.Request) -> web.Response:
        batch = batches.batches.get(request.match_info["id"])
        if batch is None:
            return missing("batch")
        batch["status"] = "cancelled"
        return web.json_response(batches.public(batch))

    async def stats(request: web.Request) -> web.Response:
        counts = batches.counts()
        return web.json_response({**counts, "uploads": counts.pop("custom_ids"),
                                  "files": sum(1 for f in batches.files.values() if f["meta"]["purpose"] == "batch"),
                                  "creates": batches.creates,
                                  "refused": batches.refused, "enqueued_max": batches.enqueued_max,
                                  "sizes": [len(b["_lines"]) for b in batches.batches.values()],
                                  "endpoints": [b["endpoint"] for b in batches.batches.values()],
                                  "paths": batches.paths, "auth": batches.auth})

    async def configure(request: web.Request) -> web.Response:
        batches.cfg.update(await request.json())
        return web.json_response({"ok": True})

    async def forget(request: web.Request) -> web.Response:
        batches.batches.clear()
        batches.files.clear()
        return web.json_response({"ok": True})

    def keyed(handler: Any) -> Any:
        """The API key check every endpoint makes (`api_key` in the chat config), as the chat endpoint does."""
        async def checked(request: web.Request) -> web.StreamResponse:
            key, revoked = state.cfg.get("api_key"), batches.cfg["revoke_after"]
            if (key and request.headers.get("Authorization") != f"Bearer {key}") or (
                    revoked is not None and batches.keyed_creates >= revoked):
                return web.json_response({"error": {"message": "Incorrect API key provided.",
                                                    "code": "invalid_api_key"}}, status=401)
            if request.method == "POST" and request.path == "/v1/batches":
                batches.keyed_creates += 1
            return await handler(request)  # type: ignore[no-any-return]
        return checked

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path not in HARNESS and not request.path.startswith("/batch/"):  # the tests' own requests
            batches.paths.append(request.raw_path)
            auth = request.headers.get("Authorization")
            if auth and auth not in batches.auth:
                batches.auth.append(auth)
        return await handler(request)  # type: ignore[no-any-return]

    app.middlewares.append(record)
    app.router.add_post("/v1/files", keyed(create_file))
    app.router.add_get("/v1/files/{id}", keyed(get_file))
    app.router.add_get("/v1/files/{id}/content", keyed(file_content))
    app.router.add_post("/v1/batches", keyed(create_batch))
    app.router.add_get("/v1/batches", keyed(list_batches))
    app.router.add_get("/v1/batches/{id}", keyed(get_batch))
    app.router.add_post("/v1/batches/{id}/cancel", keyed(cancel_batch))
    app.router.add_get("/batch/stats", stats)
    app.router.add_post("/batch/config", configure)
    app.router.add_post("/batch/forget", forget)


class OpenAIBatchServer(FakeTeacher):
    """`FakeTeacher` plus the batch endpoints. `OpenAIBatchServer(batch={"polls": 3}, rules=[...])`."""

    def command(self) -> list[str]:
        return [sys.executable, __file__, "--config", json.dumps(self.cfg)]

    def batch_stats(self) -> dict[str, Any]:
        return self._get("/batch/stats")  # type: ignore[no-any-return]

    def _post(self, path: str, data: dict[str, Any]) -> None:
        import urllib.request

        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def configure_batches(self, **cfg: Any) -> None:
        self._post("/batch/config", cfg)

    def forget(self) -> None:
        self._post("/batch/forget", {})


def main() -> None:
    state = State(config_arg())
    app = make_app(state)
    add_batch_routes(app, state)
    serve(app, backlog=4096)


if __name__ == "__main__":
    main()
