"""`report:` in a recipe: the report `distill run` writes when it finishes (`report: false` turns it off)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReportSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # The run-end report stays cheap: no sentence embeddings unless asked for (`distill report RUN` embeds by
    # default). Asked for but not installed, the embedding sections are skipped with a note; the run never fails.
    embeddings: bool = False
    embedding_model: str = "default"  # default | a sentence-transformers folder | openai:MODEL@BASE_URL
    reference: str | None = None  # a JSONL file, a run folder or a `datasets` dataset
    benchmarks: list[str] = Field(default_factory=list)  # JSONL files of benchmark questions
    # Records the per-text figures (lexical diversity, self-similarity, verbs, embeddings) are computed on: a
    # seeded uniform sample beyond this; counts, lengths and scores always cover every record.
    sample: int = Field(20_000, ge=10)
