"""Seed tasks in the original self-instruct format, validated line by line:
`{id, name, instruction, instances: [{input, output}, ...], is_classification}`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distill.errors import InputError
from distill.io.jsonl import read_jsonl


class Instance(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: str = ""
    output: str


class SeedTask(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    name: str = ""
    instruction: str = Field(min_length=1)
    instances: list[Instance] = Field(min_length=1)
    is_classification: bool = False


def load_seed_tasks(path: Path) -> list[SeedTask]:
    tasks = []
    for lineno, obj in read_jsonl(path):
        try:
            tasks.append(SeedTask.model_validate(obj))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise InputError(f"{path}:{lineno}: {key}: {err['msg']} (seed tasks use the self-instruct format "
                             "{id, name, instruction, instances: [{input, output}], is_classification})") from None
    if not tasks:
        raise InputError(f"{path}: no seed tasks")
    return tasks
