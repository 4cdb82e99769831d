"""How a teacher, judge or reward model is named: a YAML mapping or the short CLI form.

Short forms: `local`, `openai:gpt-4o-mini`, `openai:MODEL@http://127.0.0.1:8000/v1`, `anthropic:claude-sonnet-4-5`,
`transformers:/path/to/model`.

`ProviderSpec` holds the keys every provider takes (endpoint, limits, retries, price). Each provider declares the
keys only it takes in a subclass, its class attribute `Spec` (`options.py` holds the built-ins'); the short forms
are read by `registry.short_form`, each provider saying what its MODEL part sets. The YAML stays flat:
`registry.provider_spec()` validates a mapping against its provider's class, so a key another provider takes
fails at config time saying which provider takes it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from distill.providers.batch_options import BatchSetting


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_per_mtok: float = Field(0.0, ge=0)
    completion_per_mtok: float = Field(0.0, ge=0)


class ProviderSpec(BaseModel):
    """One model endpoint and how the engine may use it: the keys every provider takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = "local"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = Field(64, ge=1, le=4096)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0, le=50)
    batch: BatchSetting = False  # calls go through the provider's batch API (half price, 24 h): distill/batch/
    context_tokens: int | None = Field(None, ge=256, description="the model's context window, if not known")
    price: Price | None = None
    extra_body: dict[str, Any] | None = None

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("http://", "https://")):
            from distill.redact import redact_url

            raise ValueError(f"base_url must start with http:// or https://, got {redact_url(v)!r}")
        return v.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _a_name_not_a_key(cls, v: str) -> str:
        """The *name* of an environment variable. A key pasted here would be written to the manifest, so it is
        refused — and never echoed back."""
        from distill.redact import looks_like_key

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) or looks_like_key(v):
            raise ValueError("api_key_env must be the NAME of an environment variable (like OPENAI_API_KEY), "
                             "and this value is not a variable name (it may be a key itself; it is not shown). "
                             "Put the key in an environment variable and name that variable here.")
        return v

    def short_name(self) -> str:
        """`provider:model`, without the URL: what records name as their teacher."""
        return self.provider + (f":{self.model}" if self.model else "")

    def label(self) -> str:
        """A human name for messages: `openai:gpt-4o-mini@http://...` (credentials in the URL masked)."""
        from distill.redact import redact_url

        out = self.provider + (f":{self.model}" if self.model else "")
        return out + (f"@{redact_url(self.base_url)}" if self.base_url else "")

    def fixed_structured_output(self) -> str | None:
        """The structured-output form the config fixes (see engine/server_traits.py), or None to detect it."""
        return None

    def allows_n(self) -> bool:
        """False when the config says the endpoint lacks `n` (its samples are then sent as single calls)."""
        return True
