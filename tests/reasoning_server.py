"""A scripted OpenAI-compatible server on 127.0.0.1 answering the way reasoning models do: the thinking in a
separate `reasoning_content` field (vLLM, SGLang, DeepSeek) or inline in `<think>` tags, cut off at the token
limit, looping, switching language — one scripted reply per sample of a request.

Config (JSON): {"rules": [{"match": REGEX, "samples": [REPLY, ...]}, ...]}. The first rule whose regex matches
the last user message answers it; choice i of a request with `n` gets REPLY number i (modulo the list), where
REPLY is {"content": str, "reasoning_content": str (optional), "finish_reason": "stop" | "length"}. A prompt no
rule matches gets a plain answer with no thinking. `GET /stats` counts requests; `GET /bodies` gives them.
Run `python tests/reasoning_server.py --config '{...}'` (prints its port) or use `ReasoningServer`.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

from fake_teacher import FakeTeacher, serve_from_args


def _message(reply: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content", "")}
    if reply.get("reasoning_content") is not None:
        message["reasoning_content"] = reply["reasoning_content"]
    return message


def make_app(cfg: dict[str, Any]) -> Any:
    from aiohttp import web

    stats = {"requests": 0}
    bodies: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        stats["requests"] += 1
        bodies.append(body)
        prompt = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        rule = next((r for r in cfg.get("rules", []) if re.search(r["match"], prompt)), None)
        replies = rule["samples"] if rule else [{"content": "I cannot say."}]
        choices = []
        for i in range(int(body.get("n") or 1)):
            reply = replies[i % len(replies)]
            choices.append({"index": i, "message": _message(reply),
                            "finish_reason": reply.get("finish_reason", "stop")})
        completion_tokens = sum(len(c["message"]["content"]) // 4 + 1 for c in choices)
        return web.json_response({"id": f"chatcmpl-r{stats['requests']}", "object": "chat.completion",
                                  "created": int(time.time()), "model": body.get("model"), "choices": choices,
                                  "usage": {"prompt_tokens": len(prompt) // 4 + 1,
                                            "completion_tokens": completion_tokens, "total_tokens": 0}})

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def get_bodies(request: web.Request) -> web.Response:
        return web.json_response(bodies)

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/stats", get_stats)
    app.router.add_get("/bodies", get_bodies)
    return app


class ReasoningServer(FakeTeacher):
    """Starts the server in its own process; `url` is its OpenAI base URL, `stats()` / `bodies()` what it got."""


def main() -> None:
    serve_from_args(make_app, __doc__)


if __name__ == "__main__":
    main()


def run_reasoning(folder: Path, url: str, questions: list[dict[str, Any]], samples: int, model: str = "m"
                  ) -> subprocess.CompletedProcess[str]:
    """`distill run` of the reasoning recipe over `questions` (folder/q.jsonl) against the OpenAI-compatible
    server at `url`, `samples` traces each, no report; the run folder is folder/run."""
    import json

    from helpers import distill, write

    inp = write(folder / "q.jsonl", "".join(json.dumps(q) + "\n" for q in questions))
    cfg = write(folder / "r.yaml", f"""recipe: reasoning
teacher: {{provider: openai, model: {model}, base_url: {url}}}
input: {{path: {inp}, field: question, input_field: null}}
out: {folder / 'run'}
options: {{samples: {samples}}}
""")
    return distill("run", str(cfg), "--no-progress", "--no-report")
