"""Recipe inputs: rows with an instruction (and optional input), from JSONL or a `datasets` dataset.

JSONL is streamed, so a million-row file never sits in memory. Every row is checked before any teacher call:
a bad line or a missing field stops the run with the file and line named, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from distill.errors import InputError
from distill.io.jsonl import read_jsonl


class InputSpec(BaseModel):
    """Where a recipe's input rows come from: a JSONL file, or a `datasets` dataset (local path or Hub name)."""

    model_config = ConfigDict(extra="forbid")
    path: str
    name: str | None = Field(None, description="the dataset's configuration (subset), e.g. `main` for gsm8k")
    field: str = "instruction"
    input_field: str | None = "input"
    split: str = "train"


@dataclass(frozen=True)
class InputRow:
    index: int
    instruction: str
    input: str
    source: dict[str, Any]

    def identity(self) -> tuple[int, bytes]:
        """What a row's records depend on besides the run's configuration: its position and its content
        (the key `RunContext.map(memo=...)` keeps the row's outcomes under)."""
        return self.index, orjson.dumps([self.index, self.instruction, self.input, self.source],
                                        option=orjson.OPT_SORT_KEYS)


class Inputs:
    def __init__(self, spec: InputSpec, limit: int | None = None) -> None:
        self.spec = spec
        self.limit = limit
        self.path = Path(spec.path)
        if self.path.is_dir() and (self.path / "data.jsonl").is_file():  # another recipe's run folder
            self.path = self.path / "data.jsonl"

    def _is_jsonl(self) -> bool:
        return self.path.suffix in (".jsonl", ".json") or (self.path.exists() and self.path.is_file()
                                                          and self.path.suffix not in (".parquet", ".csv"))

    def _raw(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number or dataset index, row); `_where` turns the first into a message prefix."""
        if self._is_jsonl():
            yield from read_jsonl(self.path)
            return
        yield from enumerate(self._dataset())

    def _where(self, at: int) -> str:
        return f"{self.path}:{at}" if self._is_jsonl() else f"{self.spec.path}[{at}]"

    def _dataset(self) -> Any:
        import datasets

        try:
            if self.path.is_dir() and (self.path / "dataset_info.json").exists():
                return datasets.load_from_disk(str(self.path))
            if self.path.suffix in (".parquet", ".csv"):
                return datasets.load_dataset(self.path.suffix[1:], data_files=str(self.path), split=self.spec.split)
            return datasets.load_dataset(self.spec.path, self.spec.name, split=self.spec.split)
        except FileNotFoundError as exc:
            raise InputError(f"input.path: {self.spec.path}: not found ({exc})") from None
        except Exception as exc:  # datasets raises many types for a dataset that cannot be loaded
            raise InputError(f"input.path: cannot load dataset {self.spec.path!r}: {exc}") from None

    def rows(self) -> Iterator[InputRow]:
        field, extra = self.spec.field, self.spec.input_field
        for i, (at, obj) in enumerate(islice(self._raw(), self.limit)):
            value = obj.get(field)
            if not isinstance(value, str) or not value.strip():
                got = "missing" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"
                columns = ", ".join(repr(k) for k in obj) if isinstance(obj, dict) else "none"
                raise InputError(f"{self._where(at)}: field {field!r} must be a non-empty string ({got}); "
                                 f"the columns there are {columns}: set input.field (or --field) to the one "
                                 f"holding the instruction")
            other = obj.get(extra) if extra else None
            yield InputRow(i, value, other if isinstance(other, str) else "", obj)

    def check(self) -> int:
        """Read every row once to surface bad input before any call; return how many rows will be used."""
        n = sum(1 for _ in self.rows())
        if n == 0:
            raise InputError(f"{self.spec.path}: no input rows; the recipe has nothing to work on")
        return n
