"""The first two of the three stages a tool call passes (after APIGen): format, then execution. The third,
semantics (does the call and the final answer satisfy the query), is a judge's and lives with the recipe.

Each stage answers with a rejection reason or None:
- format: `unknown_function` (no tool of that name), `arguments_not_object` (the arguments are not a JSON
  object), `bad_arguments` (they break the tool's JSON schema: a missing required argument, a wrong type, a
  value out of its enum, a date that is no date; checked by `jsonschema` with its format checker);
- execution (a Python tool): `call_raised` (its exception, recorded), `call_timed_out`, `result_not_json`
  (a result that cannot be shown to the model as JSON), `result_too_long` (over `MAX_RESULT` characters).
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from distill.tools.calls import ToolCall
from distill.tools.catalog import Tool

MAX_RESULT = 16_000


def check_format(call: ToolCall, tools: dict[str, Tool]) -> tuple[str, str] | None:
    """(reason, detail) when the call cannot be made as written; None when it can."""
    tool = tools.get(call.name)
    if tool is None:
        return "unknown_function", f"no tool named {call.name[:80]!r}"
    if not isinstance(call.arguments, dict):
        return "arguments_not_object", f"arguments of {call.name}: {str(call.arguments)[:120]!r}"
    if not _finite(call.arguments):
        return "bad_arguments", f"{call.name}: a number that is not finite (or too large to be one)"
    validator = Draft202012Validator(tool.parameters, format_checker=Draft202012Validator.FORMAT_CHECKER)
    error = next(iter(validator.iter_errors(call.arguments)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        return "bad_arguments", f"{call.name}: {where}: {error.message[:200]}"
    return None


def _finite(value: Any, depth: int = 0) -> bool:
    """No NaN or infinity anywhere in a JSON value (a 5,000-digit number is decoded as infinity)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 32:
        return False
    if isinstance(value, dict):
        return all(_finite(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v, depth + 1) for v in value)
    return True


class Execution(BaseModel):
    """What running a call gave: the result as the JSON text the model is shown, or why there is none."""

    result: str | None = None
    reason: str | None = None
    detail: str = ""


def execute(call: ToolCall, tool: Tool, timeout: float) -> Execution:
    """Run a Python tool with the call's arguments (converted by the tool's argument model) in a thread; a call
    still running after `timeout` seconds is abandoned (the user's own code, trusted like a recipe)."""
    assert tool.function is not None and tool.arguments is not None and isinstance(call.arguments, dict)
    try:
        model = tool.arguments.model_validate(call.arguments)
    except ValidationError as exc:
        return Execution(reason="bad_arguments", detail=f"{call.name}: {exc.errors()[0]['msg']}")
    kwargs = {name: getattr(model, name) for name in type(model).model_fields}
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = tool.function(**kwargs)  # type: ignore[misc]
        except BaseException as exc:  # noqa: BLE001 - the user's function's failure is the stage's verdict
            box["error"] = exc

    worker = threading.Thread(target=run, name=f"distill-tool-{call.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return Execution(reason="call_timed_out", detail=f"{call.name} ran longer than {timeout:g} s")
    if "error" in box:
        failure = box["error"]
        return Execution(reason="call_raised",
                         detail=f"{call.name} raised {type(failure).__name__}: {str(failure)[:200]}")
    try:
        text = json.dumps(box.get("value"), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        return Execution(reason="result_not_json", detail=f"{call.name} returned {type(box.get('value')).__name__}: "
                                                          f"{exc}")
    if len(text) > MAX_RESULT:
        return Execution(reason="result_too_long", detail=f"{call.name} returned {len(text)} characters")
    return Execution(result=text)
