"""Rubrics: a name, an integer scale, the criterion, and what each score means. YAML files, built-in or the
user's own."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from distill.errors import InputError
from distill.prompts import prompts_dir


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    scale: tuple[int, int]
    criteria: str
    scores: dict[int, str]

    @model_validator(mode="after")
    def _covers_scale(self) -> Rubric:
        lo, hi = self.scale
        if lo >= hi:
            raise ValueError(f"scale must be [low, high] with low < high, got {list(self.scale)}")
        missing = [s for s in range(lo, hi + 1) if s not in self.scores]
        if missing:
            raise ValueError(f"scores has no description for {missing}")
        return self

    def reply_schema(self) -> dict[str, object]:
        """JSON schema of the judge's reply, for providers that enforce structured output."""
        return {"type": "object", "additionalProperties": False, "required": ["rationale", "score"],
                "properties": {"rationale": {"type": "string"},
                               "score": {"type": "integer", "minimum": self.scale[0], "maximum": self.scale[1]}}}


@cache
def load_rubric(ref: str) -> Rubric:
    """`ref` is a built-in name (prompts/judge/rubrics/<ref>.yaml) or a path to a rubric YAML file."""
    path = Path(ref)
    if not path.suffix:
        path = prompts_dir() / "judge" / "rubrics" / f"{ref}.yaml"
        if not path.exists():
            known = sorted(p.stem for p in path.parent.glob("*.yaml"))
            raise InputError(f"quality: unknown rubric {ref!r}; built-in rubrics: {', '.join(known)}, "
                             "or give a path to a rubric YAML")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Rubric.model_validate(data)
    except FileNotFoundError:
        raise InputError(f"quality: rubric file {path} not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
