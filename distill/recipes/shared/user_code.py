"""Code of yours that a recipe YAML names: `package.module:attr` (importable) or `file.py:attr` (a file relative
to the YAML), imported when first needed — a file's module once per process. A reference that cannot be
followed (a missing file, a module that does not import or raises while imported, a syntax error, no such
attribute, an attribute of the wrong kind) is an `InputError` (exit 2) that starts with where it was set
(`r.yaml:1`, a key)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from distill.errors import InputError


def load_reference(target: str, where: str, base: Path, prefix: str, accepts: Callable[[Any], bool],
                   expected: str) -> Any:
    """The object `target` names, when `accepts` it; else an InputError saying it is not `expected`."""
    module_name, _, attr = target.rpartition(":")
    if not module_name or not attr:
        raise InputError(f"{where}: {target!r}: expected module:attr or file.py:attr")
    if module_name.endswith(".py"):
        path = (base / module_name).resolve()
        if not path.is_file():
            raise InputError(f"{where}: {path}: file not found")
        module_name = str(path)
    try:
        module = _module(module_name, prefix)
    except ImportError as exc:
        raise InputError(f"{where}: cannot import {module_name!r} ({exc})") from None
    except SyntaxError as exc:
        raise InputError(f"{where}: {exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # the module raised while it was imported (a NameError, a failed assert, ...)
        from distill.run.recipe_errors import describe, raised_where

        at = raised_where(exc, None)
        raise InputError(f"{where}: importing {module_name!r} raised {describe(exc)}" + (f", at {at}" if at else "")
                         ) from None
    found = getattr(module, attr, None)
    if not accepts(found):
        raise InputError(f"{where}: {target!r} is not {expected}")
    return found


@cache
def _module(name: str, prefix: str) -> Any:
    """An importable module, or a file's (`name` its resolved path), registered in `sys.modules` as
    `<prefix>_<stem>` so that inspect, pickling and pydantic find it."""
    if not name.endswith(".py"):
        return importlib.import_module(name)
    path = Path(name)
    spec = importlib.util.spec_from_file_location(f"{prefix}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    return module
