"""The keys each built-in provider takes beyond the common ones (`spec.ProviderSpec`).

Each class is its provider's spec: the common keys plus its own, validated with `extra="forbid"`, so a key meant
for another provider fails at config time (`registry.provider_spec`). Each provider class names its own as its
class attribute `Spec` (`OpenAIHTTPProvider.Spec = OpenAISpec`), as a plugin provider does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from distill.providers.bounded_body import BodyLimits
from distill.providers.spec import ProviderSpec


class HTTPSpec(ProviderSpec):
    """What a provider that calls a server over HTTP takes: how much the server may send (`bounded_body.py`)."""

    max_reply_bytes: int = Field(16 << 20, ge=1 << 16, description="a reply body larger than this (after "
                                 "decompression) rejects its item, keeping only its first bytes")
    max_header_bytes: int = Field(64 << 10, ge=1 << 12, description="a response head larger than this is a "
                                  "broken response (retried)")
    max_batch_results_bytes: int = Field(8 << 30, ge=1 << 20, description="batch mode: the largest results file "
                                         "read (streamed; each line is a reply, within max_reply_bytes)")

    def body_limits(self) -> BodyLimits:
        return BodyLimits(body=self.max_reply_bytes, head=self.max_header_bytes, stream=self.max_batch_results_bytes)


def body_limits(spec: ProviderSpec) -> BodyLimits:
    """The spec's limits on what its server may send (the defaults for a spec that sets none)."""
    return spec.body_limits() if isinstance(spec, HTTPSpec) else BodyLimits()


OPENAI_URL = "https://api.openai.com/v1"  # the openai provider's server when a spec sets no `base_url`


class OpenAISpec(HTTPSpec):
    """OpenAI's API and every server that speaks it (vLLM, llama.cpp's server, Ollama, SGLang, TGI)."""

    provider: str = "openai"
    transport: Literal["http", "aiohttp", "sdk"] = "http"
    supports_n: bool = True
    supports_json_schema: bool = True
    structured_output: Literal["auto", "json_schema", "json_object", "guided_json", "text"] = "auto"

    @model_validator(mode="after")
    def _needs_model(self) -> OpenAISpec:
        if not self.model:
            raise ValueError("the openai provider needs a model, e.g. `model: gpt-4o-mini`")
        return self

    def fixed_structured_output(self) -> str | None:
        if not self.supports_json_schema:
            return "text"
        return None if self.structured_output == "auto" else self.structured_output

    def allows_n(self) -> bool:
        return self.supports_n


class AnthropicSpec(HTTPSpec):
    """Anthropic's Messages API (`anthropic:claude-sonnet-4-5`)."""

    provider: str = "anthropic"
    api_key_env: str = "ANTHROPIC_API_KEY"
    default_max_tokens: int = Field(4096, ge=1, description="max_tokens sent when the generation sets none "
                                    "(the Messages API requires one)")
    api_version: Literal["2023-06-01", "2026-10-21"] = Field(
        "2023-06-01", description="the anthropic-version header; 2026-10-21 refuses temperature and top_p, so "
        "under it they are not sent (every sample at the model's default)")

    @model_validator(mode="after")
    def _needs_model(self) -> AnthropicSpec:
        if not self.model:
            raise ValueError("the anthropic provider needs a model, e.g. `model: claude-sonnet-4-5`")
        return self

    def fixed_structured_output(self) -> str | None:
        return "text"  # no response_format on the Messages API: replies are read by the tolerant JSON reader


class LocalSpec(ProviderSpec):
    """The embedded llama.cpp teacher."""

    path: str | None = Field(None, description="a GGUF file instead of the packaged default model")


class TransformersSpec(ProviderSpec):
    """A Hugging Face transformers model run in-process (teacher or reward model)."""

    provider: str = "transformers"
    path: str | None = Field(None, description="a model folder or file (else `model` is a Hub id)")
    batch_size: int = Field(8, ge=1, le=1024, description="requests generated or scored together")
    device: str | None = Field(None, description='"cpu", "cuda", ... (default: cuda if available)')
