"""A hostile OpenAI-compatible teacher on 127.0.0.1: it answers every recipe stage in the shape that stage asks
for, with hostile content inside — code in `\\boxed{}`, `\\boxed{[1][5]}`, `\\boxed{10^10^10}`, judge JSON nested
5,000 deep, 5,000-digit scores, `{"score": true}`, NaN, NUL bytes, bidi overrides, ANSI escapes, long runs of
newlines, an enormous (> 1 MB) reply, a lone surrogate (`\\ud800`), token counts that are not counts, and 50
choices when one was asked for. Which payload a reply carries is a
hash of the request, so a run is reproducible.

Run it as a process (`python tests/hostile_teacher.py`, which prints its port) or use `HostileTeacher` from Python.
`GET /stats` counts requests and the payloads served.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import socket
import sys
from typing import Any

from fake_teacher import FakeTeacher

CODE = "__import__('os').system('touch PWNED')"
DEEP_JSON = '{"score":' * 5000 + "1" + "}" * 5000
BIG_SCORE = '{"rationale": "r", "score": ' + "9" * 5000 + "}"
HUGE_CHARS = 1_100_000
# markers that must never be in an accepted record (a huge text is checked by length)
FORBIDDEN = ("\x00", "\u202e", "\u2066", "\x1b")
TEXT_PAYLOADS = [
    "a plain sentence about tending a small vegetable garden in spring",  # benign: lets stages go on
    "a sentence with a NUL \x00 byte inside",
    "a sentence whose display order flips \u202e here \u2066 and here",
    "a sentence that paints \x1b[31mthe terminal red\x1b[0m and sets \x1b]0;a title\x07",
    "a sentence followed by many newlines" + "\n" * 3000 + "and then more",
    "a sentence that is code: " + CODE,
    "another plain sentence about how bicycles keep their balance when moving",
]
JUDGE_POISON = [DEEP_JSON, BIG_SCORE, '{"rationale": "r", "score": true}', '{"score": NaN}',
                '{"winner": ' + "[" * 5000, "[[" + "9" * 5000 + "]]", "Score:" + " " * 3000 + "x"]
BOXED = [CODE, "[1][5]", "10^10^10", "4", "2^{2^{2^{2^{2^{2}}}}}", "\\frac{1}{0}"]
LONG = " We work it out one careful step after another, checking every value on the way to the answer." * 3


def _pick(options: list[str], seed: str) -> str:
    return options[int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(options)]


def _judge(prompt: str, seed: str) -> str:
    """A valid verdict for any of distill's judges, or a poisoned one."""
    if _pick(["ok", "ok", "poison"], seed + "j") == "poison":
        return _pick(JUDGE_POISON, seed)
    m = re.search(r"from (\d+) to (\d+)", prompt)
    top = int(m.group(2)) if m else 3 if "Scale: 1 =" in prompt else 1
    return json.dumps({"rationale": "fine", "score": top, "winner": "A", "subject": 1, "focus": 1,
                       "supported": "yes", "standalone": "yes", "answerable": "yes", "verdict": "YES"})


def reply_for(prompt: str, seed: str) -> str:
    """The reply text for the last user message `prompt`; `seed` picks the payload."""
    p = _pick(TEXT_PAYLOADS, seed)
    if "Reply with JSON only" in prompt or "verdict JSON only" in prompt:
        return _judge(prompt, seed)
    if prompt.rstrip().endswith("Verdict:"):
        return _pick(["YES", "YES", "**" + " " * 3000 + "YES", DEEP_JSON], seed)
    if '"Equal" or "Not Equal"' in prompt:
        return _pick(["Not Equal", "Not Equal", p], seed)
    if re.search(r"Solution:\s*$", prompt):
        return "Work it out." + LONG + " The answer is \\boxed{" + _pick(BOXED, seed) + "}."
    if re.search(r"Instruction:\s*$", prompt):  # alpaca
        n = int(m.group(1)) if (m := re.search(r"(\d+)\. Instruction:\s*$", prompt)) else 4
        return "".join(f"Write about {_pick(TEXT_PAYLOADS, seed + str(i))} in a short paragraph\n{n + i}. Input:\n"
                       f"<noinput>\n{n + i}. Output:\nHere is {p}.\n###\n{n + i + 1}. Instruction: " for i in range(3))
    if '("Q1", then "Q2"' in prompt or '("Q1:", "Q2:"' in prompt:  # knowledge_qa, LAB knowledge
        return "".join(f"Q{i} [factual]: What does the passage say about {_pick(TEXT_PAYLOADS, seed + str(i))}?\n"
                       f"A{i}: It says {p}.\n" for i in range(1, 4))
    if '"Context 1:"' in prompt:
        return f"Context 1:\n{p}\n\nContext 2:\nA plain context about rivers and the towns along their banks."
    if re.search(r"Example \d|Class label", prompt):
        return f"Example 1\nInput: {p}\nOutput: A short output about {p}.\nExample 2\nInput: plain\nOutput: plain."
    if re.search(r"\n\s*1\.\s*$|Task \d+:\s*$|\d+\.\s*$", prompt):  # numbered lists
        return "".join(f"{i}. Describe {_pick(TEXT_PAYLOADS, seed + str(i))} in a few words.\n" for i in range(1, 5))
    return f"Here is an answer that mentions {p} in passing, as asked."


def make_app(stats: dict[str, int]) -> Any:
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        stats["requests"] += 1
        prompt = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        h = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        n = int(body.get("n") or 1)
        if n == 1 and _pick(["one"] * 5 + ["fifty"], h) == "fifty":
            n = 50  # a server that ignores n
            stats["fifty_choices"] += 1
        texts = [reply_for(prompt, f"{h}-{i}") for i in range(n)]
        if _pick(["normal"] * 12 + ["huge"], h + "huge") == "huge":
            texts[0] = "A" * HUGE_CHARS + " " + texts[0]
            stats["huge"] += 1
        if _pick(["normal"] * 15 + ["surrogate"], h + "surrogate") == "surrogate":
            texts[0] = "a lone \ud800 surrogate, which UTF-8 cannot hold"  # sent as the JSON escape \ud800
            stats["surrogate"] += 1
        usage = _pick([{"prompt_tokens": 10, "completion_tokens": 10}] * 4 + [
            {"prompt_tokens": "many"}, {"prompt_tokens": 10**30}, {"completion_tokens": True}, [1]], h + "usage")
        model = _pick([body.get("model")] * 4 + [{"name": "m"}], h + "model")
        choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                   for i, t in enumerate(texts)]
        return web.json_response({"id": f"chatcmpl-{h[:12]}", "object": "chat.completion", "model": model,
                                  "choices": choices, "usage": usage})

    async def apply_template(request: web.Request) -> web.Response:  # llama-server's chat-template rendering
        body = await request.json()
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in body["messages"])
        return web.json_response({"prompt": turns + "<|im_start|>assistant\n"})

    async def completions(request: web.Request) -> web.Response:  # raw completions (Magpie's queries)
        body = await request.json()
        stats["requests"] += 1
        h = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        n = int(body.get("n") or 1)
        texts = [f"How do I write about {_pick(TEXT_PAYLOADS, f'{h}-{i}')} in a letter to a friend?"
                 for i in range(n if _pick(["one"] * 5 + ["fifty"], h) == "one" else 50)]
        return web.json_response({"id": f"cmpl-{h[:12]}", "object": "text_completion",
                                  "model": _pick([body.get("model"), 7], h + "model"),
                                  "choices": [{"index": i, "text": t, "finish_reason": "stop"}
                                              for i, t in enumerate(texts)],
                                  "usage": _pick([{"prompt_tokens": 3}, {"prompt_tokens": "x"}], h + "usage")})

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    app = web.Application(client_max_size=64 * 2**20)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/apply-template", apply_template)
    app.router.add_get("/stats", get_stats)
    return app


class HostileTeacher(FakeTeacher):
    """Starts the server in its own process and stops it on exit."""

    def command(self) -> list[str]:
        return [sys.executable, __file__]


def main() -> None:
    from aiohttp import web

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    print(sock.getsockname()[1], flush=True)
    stats = {"requests": 0, "fifty_choices": 0, "huge": 0, "surrogate": 0}
    web.run_app(make_app(stats), sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    main()
