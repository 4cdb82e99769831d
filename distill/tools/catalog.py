"""The tools of a run, from what users already have: a JSON file of OpenAI-style function schemas, or their own
typed Python functions (`module:attr` or `file.py:attr`, trusted as their recipes are).

A JSON file holds a list of `{"type": "function", "function": {name, description, parameters}}` objects (the
form the OpenAI API takes) or of the bare `{name, description, parameters}` objects. A Python reference names a
function, a list or tuple of functions, or a dict of name -> function. A tool from JSON has no code: the
execution stage asks the teacher to simulate its result (marked as simulated); a Python tool is run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distill.errors import InputError
from distill.tools.signature import arguments_model, describe, parameters_schema

MAX_TOOLS = 512
_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"


class Tool(BaseModel):
    """One function a model may call."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str = Field(pattern=_NAME)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    function: Callable[..., Any] | None = Field(default=None, exclude=True)  # None: schema only, simulated
    arguments: type[BaseModel] | None = Field(default=None, exclude=True)  # validates and converts a call's

    def openai(self) -> dict[str, Any]:
        """The tool as the OpenAI chat API's `tools` entry (what TRL's `tools` column holds too)."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def function_tool(fn: Callable[..., Any], where: str) -> Tool:
    """A Python function as a tool."""
    model = arguments_model(fn, where)
    try:
        return Tool(name=fn.__name__, description=describe(fn), parameters=parameters_schema(model), function=fn,
                    arguments=model)
    except ValidationError:
        raise InputError(f"{where}: {fn.__name__!r} is not a usable tool name") from None


def tools_from_json(path: Path, where: str) -> list[Tool]:
    """The tools a JSON file lists; InputError naming the file and the entry that is wrong."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{where}: {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{where}: {path}: not JSON ({exc})") from None
    entries = raw.get("tools") if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{where}: {path}: expected a non-empty list of function schemas")
    tools = []
    for i, entry in enumerate(entries):
        body = entry.get("function", entry) if isinstance(entry, dict) else entry
        try:
            tools.append(Tool.model_validate(body))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "entry"
            raise InputError(f"{where}: {path}: tool {i + 1}: {field}: {first['msg']}") from None
        _check_parameters(tools[-1], f"{where}: {path}: tool {i + 1} ({tools[-1].name})")
    return _unique(tools, f"{where}: {path}")


def _check_parameters(tool: Tool, where: str) -> None:
    """A tool's `parameters` must be a JSON schema of an object, or no call could ever pass the format stage."""
    from jsonschema import Draft202012Validator, SchemaError

    try:
        Draft202012Validator.check_schema(tool.parameters)
    except SchemaError as exc:
        raise InputError(f"{where}: parameters: not a valid JSON schema: {exc.message[:200]}") from None
    if tool.parameters.get("type") != "object":
        raise InputError(f"{where}: parameters: the schema must be of type \"object\" (the arguments are named)")


def tools_from_python(found: Any, where: str) -> list[Tool]:
    """The tools a Python reference names: a function, a list/tuple of them, or a dict name -> function."""
    if callable(found) and not isinstance(found, type):
        functions = [found]
    elif isinstance(found, list | tuple):
        functions = list(found)
    elif isinstance(found, dict):
        functions = list(found.values())
    else:
        raise InputError(f"{where}: expected a function, a list of functions or a dict of them")
    if not functions or not all(callable(f) and not isinstance(f, type) for f in functions):
        raise InputError(f"{where}: expected a function, a list of functions or a dict of them")
    return _unique([function_tool(f, where) for f in functions], where)


def _unique(tools: list[Tool], where: str) -> list[Tool]:
    if len(tools) > MAX_TOOLS:
        raise InputError(f"{where}: {len(tools)} tools; at most {MAX_TOOLS}")
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise InputError(f"{where}: two tools are named {tool.name!r}")
        seen.add(tool.name)
    return tools
