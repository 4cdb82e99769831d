"""Refusals an OpenAI-compatible server gives for the *shape* of a request rather than for its content or load.

Servers differ in what they accept: llama-cpp-python's server answers a json_schema `response_format` with HTTP
500 ("Input should be 'text' or 'json_object'"), older vLLM takes only `guided_json`, Ollama and llama.cpp ignore
or refuse `n`. Such an answer is not worth a retry (the same request gets the same refusal), and it is not worth
ending the run either: the engine sends the request again in a shape the server accepts (`engine/server_traits.py`).
A prompt longer than the model's context is refused for that one item only: the item is rejected, the run goes on.
"""

from __future__ import annotations

import re
from typing import Any

from distill.errors import TeacherError
from distill.redact import clean_text

SHAPE_STATUSES = frozenset({400, 404, 415, 422, 500, 501})
CONTEXT_STATUSES = frozenset({400, 413, 422})
_CONTEXT = re.compile(r"context_length_exceeded|maximum context length|context length|context window"
                      r"|prompt is too long|too many tokens|input is too long|must be <= \d+", re.IGNORECASE)
_N = re.compile(r"""['"`]n['"`]|(?<![\\\w])n\s*(?:>|must|should|is not|=\s*\d)|parameter\s+n\b"""
                r"""|multiple (?:choices|completions)""", re.IGNORECASE)

# a server without tool calling (llama.cpp's server, vLLM, Ollama); not any error that mentions a tool message
_TOOLS = re.compile(r"tools param|tool[ _]choice|tool[- _]call(?:ing|-parser)|--jinja|"
                    r"(?:does not|doesn't) support tools|tools? (?:is|are) not supported", re.IGNORECASE)


class Refused(TeacherError):
    """The server refused this request for `field`: "response_format" / "guided_json" / "n" / "tools" (its shape —
    send it again another way) or "context_length" (this prompt is too long — reject the item)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def refusal(status: int, body: str, request: dict[str, Any], *, label: str) -> Refused | None:
    """The `Refused` this error answer stands for, or None when it is some other error."""
    low = body.lower()
    snippet = clean_text(body)
    if status in SHAPE_STATUSES:
        if request.get("tools") and _TOOLS.search(body):  # llama.cpp without --jinja, vLLM without a parser
            return Refused("tools", f"{label} refused tools (HTTP {status}): {snippet}")
        if request.get("response_format") and any(w in low for w in ("response_format", "json_schema", "json_object")):
            return Refused("response_format", f"{label} refused response_format (HTTP {status}): {snippet}")
        if "guided_json" in request and "guided" in low:
            return Refused("guided_json", f"{label} refused guided_json (HTTP {status}): {snippet}")
        if (request.get("n") or 1) > 1 and (_param(body) == "n" or _N.search(body)):
            return Refused("n", f"{label} refused n={request['n']} (HTTP {status}): {snippet}")
    if status in CONTEXT_STATUSES and _CONTEXT.search(body):
        return Refused("context_length", f"{label}: the prompt is too long for the model's context "
                                         f"(HTTP {status}): {snippet}")
    return None


def _param(body: str) -> str | None:
    """OpenAI-style error bodies name the offending parameter: {"error": {"param": "n", ...}}."""
    import orjson

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    param = error.get("param") if isinstance(error, dict) else None
    return param if isinstance(param, str) else None
