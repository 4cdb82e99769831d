"""How a teacher, judge or reward model is named: a YAML mapping or the short CLI form.

Short forms: `local`, `openai:gpt-4o-mini`, `openai:MODEL@http://127.0.0.1:8000/v1`,
`transformers:/path/to/model`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from distill.errors import InputError


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_per_mtok: float = Field(0.0, ge=0)
    completion_per_mtok: float = Field(0.0, ge=0)


class ProviderSpec(BaseModel):
    """One model endpoint and how the engine may use it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = "local"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    transport: Literal["http", "aiohttp", "sdk"] = "http"
    max_concurrency: int = Field(64, ge=1, le=4096)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0, le=50)
    supports_n: bool = True
    supports_json_schema: bool = True
    structured_output: Literal["auto", "json_schema", "json_object", "guided_json", "text"] = "auto"
    context_tokens: int | None = Field(None, ge=256, description="the model's context window, if not known")
    batch_size: int = Field(8, ge=1, le=1024)  # transformers: requests generated or scored together
    device: str | None = None  # transformers: "cpu", "cuda", ... (default: cuda if available)
    price: Price | None = None
    extra_body: dict[str, Any] | None = None
    path: str | None = None  # local / transformers: a model file or folder instead of the packaged default

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

    @model_validator(mode="after")
    def _needs_model(self) -> "ProviderSpec":
        if self.provider == "openai" and not self.model:
            raise ValueError("the openai provider needs a model, e.g. `model: gpt-4o-mini`")
        return self

    def short_name(self) -> str:
        """`provider:model`, without the URL: what records name as their teacher."""
        return self.provider + (f":{self.model}" if self.model else "")

    def label(self) -> str:
        """A human name for messages: `openai:gpt-4o-mini@http://...` (credentials in the URL masked)."""
        from distill.redact import redact_url

        out = self.provider + (f":{self.model}" if self.model else "")
        return out + (f"@{redact_url(self.base_url)}" if self.base_url else "")


def parse_provider(value: Any, *, where: str) -> ProviderSpec:
    """Accept a short string or a mapping; raise InputError naming `where` on anything else."""
    from pydantic import ValidationError

    if isinstance(value, ProviderSpec):
        return value
    try:
        if isinstance(value, str):
            return ProviderSpec(**short_form(value))
        if isinstance(value, dict):
            return ProviderSpec(**value)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{where}{'.' + key if key else ''}: {first['msg']}") from None
    raise InputError(f"{where}: expected a provider name like 'openai:gpt-4o-mini' or a mapping, got {value!r}")


def short_form(text: str) -> dict[str, Any]:
    text = text.strip()
    provider, _, rest = text.partition(":")
    if not provider:
        raise ValueError(f"empty provider in {text!r}")
    out: dict[str, Any] = {"provider": provider}
    if rest:
        model, at, url = rest.partition("@")
        if provider == "transformers" and not at:
            out["path"] = model  # transformers:/path/to/model-or.gguf
        elif provider == "local" and not at:
            out["path" if "/" in model else "model"] = model
        else:
            out["model"] = model or None
        if at:
            out["base_url"] = url
    return out
