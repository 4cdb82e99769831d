"""`fake_teacher.py` behaving like one family of real OpenAI-compatible servers, for the adaptation tests.

`python tests/family_teacher.py --family FAMILY [--config JSON]`, or `FamilyTeacher(FAMILY, **cfg)` from Python.
Everything `fake_teacher.py` does (rules, faults, /bodies, /stats) still works; the family changes what the
server accepts:

* `schema_400`  — a json_schema `response_format` is refused with HTTP 400 naming `response_format` (an OpenAI
  clone without structured outputs); json_object is accepted.
* `schema_500`  — llama-cpp-python's server: json_schema answered with HTTP 500 and its exact validation message
  ("Input should be 'text' or 'json_object'"); json_object with a `schema` is grammar-constrained.
* `guided_only` — older vLLM: any `response_format` but text is refused (400); `guided_json` constrains.
* `n_ignored`   — `n` is accepted and ignored: one choice comes back (Ollama, llama.cpp).
* `n_refused`   — `n` > 1 is refused with HTTP 400 naming `n`.
* `n_extra`     — three times the choices asked for (a broken or hostile server).

A constrained request (json_schema, json_object with a schema, guided_json — whichever the family accepts) is
answered with a JSON object built from the schema, as a grammar would force: integers take the schema's
`maximum` (or 7), enums their first value, strings "fine", booleans true. Unconstrained requests get the usual
scripted reply, which the tests make unreadable as a verdict.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

from fake_teacher import FakeTeacher, State, make_app

LLAMA_CPP_500 = ("1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                 "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': "
                 "\"'text' or 'json_object'\"}}\n\n  File \"llama_cpp/server/app.py\", line 376, in "
                 "create_chat_completion\n    POST /v1/chat/completions")
FAMILIES = ("schema_400", "schema_500", "guided_only", "n_ignored", "n_refused", "n_extra")


def refusal(family: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    kind = (body.get("response_format") or {}).get("type")
    if family == "schema_400" and kind == "json_schema":
        return 400, {"error": {"message": "Invalid parameter: response_format of type 'json_schema' is not "
                                          "supported with this model.", "type": "invalid_request_error",
                               "param": "response_format", "code": None}}
    if family == "schema_500" and kind == "json_schema":
        return 500, {"error": {"message": LLAMA_CPP_500, "type": "internal_server_error", "param": None,
                               "code": None}}
    if family == "guided_only" and kind not in (None, "text"):
        return 400, {"object": "error", "message": "[{'type': 'literal_error', 'loc': ('body', 'response_format', "
                                                   "'type'), 'msg': \"Input should be 'text'\"}]",
                     "type": "BadRequestError", "param": None, "code": 400}
    if family == "n_refused" and int(body.get("n") or 1) > 1:
        return 400, {"error": {"message": "n > 1 is not supported by this server", "type": "invalid_request_error",
                               "param": "n", "code": None}}
    return None


def constraint(family: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the server enforces on this request, if any."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema") or {}
    if fmt.get("type") == "json_object" and family in ("schema_500", "schema_400") and fmt.get("schema"):
        return fmt["schema"]  # type: ignore[no-any-return]
    if family == "guided_only" and body.get("guided_json"):
        return body["guided_json"]  # type: ignore[no-any-return]
    return None


def fill(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: fill(v) for k, v in schema.get("properties", {}).items()}
    if kind == "integer" or kind == "number":
        return schema.get("maximum", 7)
    if kind == "boolean":
        return True
    if kind == "array":
        return [fill(schema.get("items", {}))]
    return "fine"


def family_app(state: State, family: str) -> Any:
    from aiohttp import web

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/v1/chat/completions":
            return await handler(request)
        body = await request.json()
        refused = refusal(family, body)
        if refused is not None:
            state.stats["requests"] += 1
            state.stats["refused"] += 1
            state.bodies.append(body)
            return web.json_response(refused[1], status=refused[0])
        resp = await handler(request)
        if resp.status != 200 or not isinstance(resp, web.Response) or resp.body is None:
            return resp
        reply = json.loads(resp.body)
        schema = constraint(family, body)
        if schema is not None:
            for choice in reply["choices"]:
                choice["message"]["content"] = json.dumps(fill(schema))
        if family == "n_ignored":
            reply["choices"] = reply["choices"][:1]
        if family == "n_extra":
            reply["choices"] = [dict(c, index=i, message={"role": "assistant", "content": f"{c['message']['content']}"
                                                          f" and a distinct extra answer number {i}"})
                                for i, c in enumerate(reply["choices"] * 3)]
        return web.json_response(reply)

    app = make_app(state)
    app.middlewares.append(middleware)
    return app


class FamilyTeacher(FakeTeacher):
    def __init__(self, family: str, **cfg: Any) -> None:
        assert family in FAMILIES, family
        super().__init__(**cfg)
        self.family = family

    def command(self) -> list[str]:
        return [sys.executable, __file__, "--family", self.family, "--config", json.dumps(self.cfg)]


def main() -> None:
    from aiohttp import web

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", choices=FAMILIES, required=True)
    ap.add_argument("--config", default="{}")
    args = ap.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    web.run_app(family_app(State(json.loads(args.config)), args.family), sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    main()
