"""Prompt templates: jinja2 files under `prompts/<recipe>/`, rendered in a sandbox with strict undefined.

A template that names a variable the recipe did not pass fails loudly instead of sending a prompt with a hole.
Templates ship in the wheel as `distill/_data/prompts`; in a source checkout they are read from `prompts/`.
"""

from __future__ import annotations

from functools import cache, lru_cache
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


@cache
def _env(root: str) -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(loader=FileSystemLoader(root), undefined=StrictUndefined,
                                keep_trailing_newline=False, autoescape=False, auto_reload=False, cache_size=-1)


_OVERRIDES: dict[str, Path] = {}  # template name -> the user's own file (`prompts:` in the recipe YAML)


def use_overrides(overrides: dict[str, Path]) -> None:
    """Render the user's files instead of the packaged templates they name, for this process's run."""
    _OVERRIDES.clear()
    _OVERRIDES.update(overrides)
    _template.cache_clear()
    _compiled.cache_clear()


@cache
def _template(name: str) -> Any:
    own = _OVERRIDES.get(name)
    if own is not None:
        return _env(str(own.parent)).get_template(own.name)
    return _env(str(prompts_dir())).get_template(name)


def variables_of(name: str | None = None, path: Path | None = None) -> set[str]:
    """The variables a template uses: a packaged one by name, or a file of the user's."""
    from jinja2 import meta

    if path is not None:
        text, root = path.read_text(encoding="utf-8"), str(path.parent)
    else:
        text, root = (prompts_dir() / str(name)).read_text(encoding="utf-8"), str(prompts_dir())
    return set(meta.find_undeclared_variables(_env(root).parse(text)))


def check_override(name: str, path: Path) -> list[str]:
    """Refuse a replacement template that cannot work: an unknown template name, a missing file, a syntax error
    (file and line named), or a variable the stage does not pass. Returns warnings (variables it leaves out)."""
    from jinja2 import TemplateSyntaxError

    if not (prompts_dir() / name).is_file():
        family = name.split("/")[0]
        known = sorted(str(p.relative_to(prompts_dir())) for p in (prompts_dir() / family).glob("*.j2"))
        raise InputError(f"no packaged template {name!r} to replace" + (
            f"; {family}'s templates are: {', '.join(known)}" if known else ""))
    if not path.is_file():
        raise InputError(f"{path}: file not found (the replacement for {name})")
    try:
        used = variables_of(path=path)
    except TemplateSyntaxError as exc:
        raise InputError(f"{path}:{exc.lineno}: template syntax error: {exc.message}") from None
    passed = variables_of(name)
    extra = used - passed
    if extra:
        raise InputError(f"{path}: uses {', '.join(sorted(extra))}, which the stage rendering {name} does not "
                         f"pass; it passes: {', '.join(sorted(passed)) or 'nothing'}")
    return [f"{path}: does not use {v} (the packaged {name} does)" for v in sorted(passed - used)]


@cache
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
        where = _OVERRIDES.get(name) or prompts_dir()
        raise InputError(f"prompt template {name!r} not found under {where}") from None
    except UndefinedError as exc:
        raise InputError(f"prompt template {name!r}: {exc.message}") from None
