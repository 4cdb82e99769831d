"""One registry for everything distill looks up by name: recipes, providers, batch backends, executors, commands.

A `Registry` maps names to `module:attr` strings, imported only when a name is used, so `import distill` (and
`distill --help`) imports no backend. Its names are its built-in table plus the installed plugins of one
entry-point group (`distill.recipes`, `distill.providers`, ...); a built-in keeps its name when a plugin takes it
too. Built-ins and plugins go through the same loader (`load_target`) and the same base-class check, so a
built-in is registered exactly as a third-party plugin is:

    # a plugin's pyproject.toml
    [project.entry-points."distill.providers"]
    parrot = "parrot_plugin:Parrot"
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


class PluginError(Exception):
    """A registered name that cannot be used: its module does not import, or it is not what the registry holds."""


def load_target(target: str) -> Any:
    """The object a `module:attr` string names (ImportError or AttributeError when it cannot be had)."""
    module, colon, attr = target.partition(":")
    if not colon or not module or not attr:
        raise ImportError(f"{target!r} is not of the form module:attr")
    found = importlib.import_module(module)
    for part in attr.split("."):
        found = getattr(found, part)
    return found


def entry_point_targets(group: str) -> dict[str, str]:
    """The installed plugins of one entry-point group: name -> `module:attr`."""
    from importlib import metadata

    return {ep.name: ep.value for ep in metadata.entry_points(group=group)}


class Registry:
    """Names of one kind of thing (`what`: "recipe", "provider", ...) to lazily imported classes deriving from
    `base` (a class, or its `module:attr` so that making the registry imports nothing; None: any object, such as
    a command's `add_parser`): `builtins` (the table itself, not a copy) first, then the `group` entry points."""

    def __init__(self, what: str, group: str, builtins: Mapping[str, str], base: type | str | None = None) -> None:
        self.what, self.group, self.builtins, self.base = what, group, builtins, base

    def targets(self) -> dict[str, str]:
        """Every registered name with its `module:attr`: the installed plugins, then the built-ins over them."""
        return {**entry_point_targets(self.group), **self.builtins}

    def target(self, name: str) -> str | None:
        if name in self.builtins:
            return self.builtins[name]  # no entry-point scan for a built-in
        return entry_point_targets(self.group).get(name)

    def names(self) -> list[str]:
        return sorted(self.targets())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.target(name) is not None

    def load(self, name: str) -> Any:
        """The class registered as `name`. KeyError when nothing is; PluginError when it cannot be used (its
        module or a package it needs is missing, or it does not derive from `base`)."""
        target = self.target(name)
        if target is None:
            raise KeyError(name)
        return self.resolve(name, target)

    def resolve(self, name: str, target: str) -> Any:
        """What `target` names, checked as this registry's `name` would be (PluginError when it cannot be used)."""
        try:
            found = load_target(target)
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"{self.what} {name!r} ({target}) cannot be loaded: {exc}") from exc
        except Exception as exc:  # the plugin's module raised while imported: its bug, not the others' problem
            raise PluginError(f"{self.what} {name!r} ({target}) cannot be loaded: importing it raised "
                              f"{type(exc).__name__}: {exc}") from exc
        base = load_target(self.base) if isinstance(self.base, str) else self.base
        if base is not None and not (isinstance(found, type) and issubclass(found, base)):
            raise PluginError(f"{self.what} {name!r} ({target}) is not a {base.__module__}.{base.__qualname__} "
                              "subclass")
        return found

    def loaded(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Every registered class that loads, by name, and why each other one does not: a broken plugin leaves
        the others usable."""
        classes: dict[str, Any] = {}
        unusable: dict[str, str] = {}
        for name in self.names():
            try:
                classes[name] = self.load(name)
            except PluginError as exc:
                unusable[name] = str(exc)
        return classes, unusable
