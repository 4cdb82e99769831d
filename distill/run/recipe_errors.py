"""An exception escaping a recipe of the user's own (`my_recipe.py:Shout`, `mypackage.recipes:Shout`, or one
registered under the `distill.recipes` entry points) ends `distill run` with one paragraph instead of a traceback:
the recipe, the exception's type and message, and the line of the user's module it came through (exit 1).

The run stops as after Ctrl+C: every answer received is in the cache, the records written so far stay in the
run folder's partial files, and the same command resumes without asking for a received answer again. A
traceback is kept for distill's own recipes (a bug there is ours to read); errors distill already explains
(`InputError`, `TeacherError`, a full disk) pass through unchanged.
"""

from __future__ import annotations

import inspect
import traceback
from pathlib import Path

from distill.engine.call_failure import CallFailed
from distill.errors import DistillError
from distill.quality.replies import UnreadableReply


class RecipeError(DistillError):
    """A user's recipe raised; the run folder keeps what was written (see module doc)."""

    exit_code = 1


def is_own_recipe(cls: type) -> bool:
    return not cls.__module__.startswith("distill.")


def recipe_name(name: str, cls: type) -> str:
    """How the config named the recipe, as `module:attr` (an entry point's bare name gets its target too)."""
    return name if ":" in name else f"{name} ({cls.__module__}:{cls.__qualname__})"


def raised_where(exc: BaseException, cls: type | None) -> str | None:
    """`file:line (in function)` of the innermost frame of the recipe's own module the exception went through,
    else of the innermost frame at all."""
    try:
        source = Path(inspect.getfile(cls)).resolve() if cls is not None else None
    except (TypeError, OSError):
        source = None
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if source is not None and Path(f.filename).resolve() == source]
    chosen = own or list(frames)
    if not chosen:
        return None
    frame = chosen[-1]
    return f"{frame.filename}:{frame.lineno} (in {frame.name})"


def describe(exc: BaseException) -> str:
    """`ValueError: its message` on one line, bounded."""
    what = " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(":")  # one paragraph, whatever the message
    return what if len(what) <= 600 else what[:600] + "..."


def recipe_failure(name: str, cls: type, exc: BaseException, folder: Path) -> RecipeError | None:
    """The error to end the run with, or None to let `exc` through as it is."""
    if not isinstance(exc, Exception) or isinstance(exc, DistillError) or not is_own_recipe(cls):
        return None
    what = describe(exc)
    where = raised_where(exc, cls)
    hint = ""
    if isinstance(exc, (CallFailed, UnreadableReply)):
        hint = (" A call awaited outside `ctx.call(...)` or `with ctx.guard(...)` ends the run when it fails; "
                "inside one, the item is recorded as failed (or rejected) and the run goes on.")
    return RecipeError(
        f"recipe {recipe_name(name, cls)} raised {what}" + (f", at {where}" if where else "") + "." + hint
        + f" The run stopped: every answer received so far is kept in {folder / 'cache.sqlite'} and the records "
        f"written so far in {folder}/*.jsonl.partial. Fix the recipe and run the same command again; answers "
        "already received are not requested again.")
