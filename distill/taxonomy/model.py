"""The leaves of a taxonomy as typed data: skills (freeform or grounded) and knowledge."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SeedQA:
    question: str
    answer: str
    context: str | None = None


@dataclass(frozen=True)
class KnowledgeSeed:
    context: str
    qa: tuple[SeedQA, ...]


@dataclass
class Leaf:
    path: str                 # e.g. compositional_skills/writing/haiku
    file: Path
    kind: str                 # "freeform" | "grounded" | "knowledge"
    created_by: str
    task: str                 # task_description for skills, domain for knowledge
    seeds: list[SeedQA] = field(default_factory=list)
    knowledge: list[KnowledgeSeed] = field(default_factory=list)
    outline: str = ""
    documents: list[tuple[str, str]] = field(default_factory=list)  # (name, text)
