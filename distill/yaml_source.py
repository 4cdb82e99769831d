"""Reading YAML so that every later error can name the file and line of the key it is about."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from distill.errors import InputError


class YamlSource:
    def __init__(self, path: Path, data: Any, root: yaml.Node | None) -> None:
        self.path = path
        self.data = data
        self.root = root
        self.origins: dict[tuple[str, ...], str] = {}  # key paths set on the command line (--set), and how

    @classmethod
    def load(cls, path: Path) -> YamlSource:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read ({exc})") from None
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"{where}: invalid YAML: {problem}") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a mapping of keys (recipe:, teacher:, ...) at the top level")
        return cls(path, data, root)

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """1-based line of the deepest node on the key path `loc` that exists in the file."""
        node, line = self.root, None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(part):
                        line, node = k.start_mark.line + 1, v
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def where(self, loc: tuple[Any, ...]) -> str:
        for n in range(len(loc), 0, -1):
            flag = self.origins.get(tuple(str(p) for p in loc[:n]))
            if flag is not None:
                return flag
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)
