"""A Python function as an OpenAI-style tool: its JSON schema from the signature, type hints and docstring.

Pydantic builds the schema (as instructor does), so a parameter typed `int`, `Literal["C", "F"]`, a list or a
pydantic model gets the schema and, later, the validation that type means. Descriptions come from the
docstring: its first paragraph describes the tool, and an `Args:` section (Google style, `name: text` or
`name (type): text`, one per line) describes the parameters.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from distill.errors import InputError

_ARG_LINE = re.compile(r"[ \t]{1,16}(\w{1,64})(?:[ \t]{0,4}\([^)\n]{0,80}\))?[ \t]{0,4}:[ \t]{0,4}(\S[^\n]{0,400})")
_SECTION = re.compile(r"[ \t]{0,16}(?:Returns?|Raises|Yields|Examples?|Notes?)[ \t]{0,4}:[ \t]{0,4}")


def describe(fn: Callable[..., Any]) -> str:
    """The docstring's first paragraph, on one line."""
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def parameter_docs(fn: Callable[..., Any]) -> dict[str, str]:
    """`name -> description` from the docstring's `Args:` section."""
    doc = inspect.getdoc(fn) or ""
    found: dict[str, str] = {}
    inside = False
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            inside = True
            continue
        if inside and (_SECTION.fullmatch(line) or (line and not line[0].isspace())):
            break
        match = _ARG_LINE.fullmatch(line) if inside else None
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def arguments_model(fn: Callable[..., Any], where: str) -> type[BaseModel]:
    """A pydantic model of `fn`'s arguments; InputError for what a JSON call cannot fill (*args, **kwargs, a
    parameter without a type hint)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:  # noqa: BLE001 - a hint naming something undefined
        raise InputError(f"{where}: the type hints of {fn.__name__}() cannot be read: {exc}") from None
    docs = parameter_docs(fn)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise InputError(f"{where}: {fn.__name__}() parameter {name!r}: a tool takes named arguments only")
        if name not in hints:
            raise InputError(f"{where}: {fn.__name__}() parameter {name!r} needs a type hint (it makes the schema)")
        default = ... if param.default is param.empty else param.default
        fields[name] = (hints[name], Field(default, description=docs.get(name)))
    config = ConfigDict(extra="forbid")
    return create_model(f"{fn.__name__}_arguments", __config__=config, **fields)  # type: ignore[call-overload,no-any-return]


def parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema as a tool's `parameters` (pydantic's titles dropped: they repeat the names)."""
    schema = model.model_json_schema()
    return _without_titles(schema)  # type: ignore[no-any-return]


def _without_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_titles(v) for k, v in node.items()
                if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_without_titles(v) for v in node]
    return node
