"""Prompt templates: jinja2 files under `prompts/<recipe>/`, rendered in a sandbox with strict undefined.

A template that names a variable the recipe did not pass fails loudly instead of sending a prompt with a hole.
Templates ship in the wheel as `distill/_data/prompts`; in a source checkout they are read from `prompts/`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from distill.errors import InputError


@lru_cache(maxsize=1)
def prompts_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "prompts", here.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise InputError("cannot find distill's prompt templates (neither distill/_data/prompts nor ./prompts)")


@lru_cache(maxsize=None)
def _env(root: str) -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=FileSystemLoader(root), undefined=StrictUndefined,
                                keep_trailing_newline=False, autoescape=False, auto_reload=False, cache_size=-1)


@lru_cache(maxsize=None)
def _template(name: str) -> Any:
    return _env(str(prompts_dir())).get_template(name)


@lru_cache(maxsize=None)
def _compiled(name: str) -> tuple[Any, dict[str, Any]]:
    """The template and its globals flattened into one dict, so rendering skips jinja's per-call merge."""
    template = _template(name)
    return template, dict(template.globals)


def render(name: str, /, **variables: Any) -> str:
    """Render `prompts/<name>` (e.g. "respond/user.j2") with the given variables."""
    from jinja2 import TemplateNotFound, UndefinedError

    try:
        template, globals_ = _compiled(name)
        context = template.new_context({**globals_, **variables}, shared=True)
        return template.environment.concat(template.root_render_func(context)).strip()  # type: ignore[no-any-return]
    except TemplateNotFound:
        raise InputError(f"prompt template {name!r} not found under {prompts_dir()}") from None
    except UndefinedError as exc:
        raise InputError(f"prompt template {name!r}: {exc.message}") from None


def source(name: str) -> str:
    return (prompts_dir() / name).read_text(encoding="utf-8")
