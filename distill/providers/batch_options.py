"""`batch:` on a teacher, judge or answering teacher: `batch: true`, or a mapping of the few knobs there are.

    teacher: {provider: openai, model: gpt-4o-mini, batch: true}
    teacher: {provider: openai, model: gpt-4o-mini, batch: {poll_seconds: 60}}

A provider without a batch API (local, transformers: their classes declare no `batch_backend`) is refused at
config time (exit 2) by `registry.provider_spec`; the backend a provider declares is made by `batch/backend.py`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BatchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gather_seconds: float = Field(2.0, gt=0, description="send the queued requests once no new one came for this "
                                                         "long (or a batch is full)")
    poll_seconds: float = Field(30.0, gt=0, description="first wait between two looks at a running batch")
    max_poll_seconds: float = Field(600.0, gt=0, description="the wait between looks grows up to this")
    max_attempts: int = Field(3, ge=1, le=20, description="batches a request may go into (expired, cancelled or "
                                                          "server-failed entries go into the next one)")
    max_requests: int | None = Field(None, ge=1, description="at most this many requests per batch (smaller "
                                                             "batches can come back sooner); the provider's limit "
                                                             "otherwise")
    price_factor: float | None = Field(None, ge=0, le=1, description="what the batch API bills relative to the "
                                                                     "immediate price; default 0.5 for OpenAI's and "
                                                                     "Anthropic's hosted APIs, 1 for other servers")


BatchSetting = bool | BatchOptions  # a provider without a batch backend is refused: registry.provider_spec


def batch_options(value: Any) -> BatchOptions | None:
    """The options of a spec's `batch:` setting, or None when batch mode is off."""
    if value is True:
        return BatchOptions()
    return value if isinstance(value, BatchOptions) else None
