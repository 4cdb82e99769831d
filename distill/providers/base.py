"""The provider interface: one async `complete` call that turns chat messages into choices.

Everything around a call — caching, retries, rate limits, accounting — lives in the engine, so a provider is
only the translation between our types and one backend's wire format.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from distill.errors import TeacherError
from distill.providers.hosted import Hosted
from distill.providers.spec import ProviderSpec
from distill.text.reply_text import normalize_newlines, split_reasoning

Message = dict[str, str]


class GenerationParams(BaseModel):
    """Sampling parameters passed to the teacher. Unset fields are left to the backend's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(1, ge=1, le=128)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    stop: list[str] | None = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None  # OpenAI-style function schemas, for native tool calling
    tool_choice: str | None = None  # "auto" | "none" | "required"
    extra_body: dict[str, Any] | None = None

    def wire(self) -> dict[str, Any]:
        """The OpenAI request fields this object sets (extra_body merged in by the caller)."""
        return self.model_dump(exclude_none=True, exclude={"extra_body"})

    def merged(self, **overrides: Any) -> GenerationParams:
        data = self.model_dump(exclude_none=True)
        data.update({k: v for k, v in overrides.items() if v is not None})
        return GenerationParams(**data)


class Choice(BaseModel):
    """One sample of a reply. `text` is what the model answered, with LF line ends and without its reasoning: a
    leading `<think>...</think>` block (or one left open, or closed without an opening tag) moves to
    `reasoning`, where a server's separate reasoning field (`reasoning_content`) also goes."""

    text: str
    finish_reason: str | None = None
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # native tool calls, in OpenAI's form ({id, type, function})

    @model_validator(mode="after")
    def _split_reasoning(self) -> Choice:
        text, reasoning = split_reasoning(normalize_newlines(self.text))
        if reasoning is not None:
            self.reasoning = f"{self.reasoning}\n\n{reasoning}" if self.reasoning else reasoning
        self.text = text
        return self


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Completion(BaseModel):
    """What a teacher returned for one request: one choice per sample, and the tokens it billed."""

    choices: list[Choice]
    usage: Usage = Usage()
    model: str | None = None


class Capabilities(BaseModel):
    supports_n: bool = True
    supports_json_schema: bool = True
    native_tools: bool | None = False  # `tools` in the request: True always honoured, None to probe, False never


class Provider:
    """Base class of every provider. Subclasses set `kind` and implement `complete` and `close`, and declare what
    they are in the class attributes below: the provider registry (`registry.py`) reads them from the class
    registered under the provider's name, built-in or plugin alike, so no other table lists providers."""

    kind: str = "base"  # part of every cache key (`identity`)
    capabilities: Capabilities = Capabilities()

    Spec: ClassVar[type[ProviderSpec]] = ProviderSpec  # the keys it takes (the built-ins': `options.py`)
    needs_key: ClassVar[bool] = False  # its hosted API needs a key, read from the variable its Spec's
    #                                    `api_key_env` names (a `base_url` alone needs none: `api_key.py`)
    in_process: ClassVar[bool] = False  # loads its model into the process: costs nothing, and the Ray executor
    #                                     gives it `replicas` actors (an HTTP provider gets `workers`)
    hosted: ClassVar[Hosted | None] = None  # the hosted API it bills through: price table, hosts, batch discount
    batch_backend: ClassVar[str | None] = None  # its batch API: a name in the batch backend registry (batch/)

    @classmethod
    def short_form(cls, model: str) -> dict[str, Any]:
        """The keys `NAME:MODEL` sets, for a short form without `@URL` (with one, MODEL is always `model`)."""
        return {"model": model or None}

    @classmethod
    def create(cls, spec: ProviderSpec) -> Provider:
        """The provider object for `spec` (a provider with several transports may pick another class here)."""
        return cls(spec)

    def __init__(self, spec: ProviderSpec) -> None:
        self.spec = spec

    @property
    def identity(self) -> dict[str, Any]:
        """What identifies the model answering, for cache keys and the manifest. Never holds a secret."""
        return {"kind": self.kind, "base_url": self.spec.base_url, "model": self.spec.model}

    @property
    def context_tokens(self) -> int | None:
        """The model's context window when known (the spec's `context_tokens` wins), for chunking inputs."""
        return self.spec.context_tokens

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        raise NotImplementedError

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass

    # --- raw completions (Magpie and other prompt-free recipes) ----------------------------------------------
    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        """Continue `prompt` as plain text, with no chat template applied (a /v1/completions-style call)."""
        raise TeacherError(chat_only(self.spec.label(), "raw completions (plain-text prompts)"))

    async def render_chat(self, messages: list[Message]) -> str:
        """The prompt text the model's own chat template makes of `messages`, generation prompt included. The
        backend renders it (llama.cpp, transformers, the server); `NoChatTemplate` when it cannot but could take
        raw completions with a template the user names. A backend with neither (a chat-only API such as Anthropic's)
        is refused for good: a template alone would not let it run a raw completion."""
        raise TeacherError(chat_only(self.spec.label(), "its chat template"))


class NoChatTemplate(TeacherError):
    """The backend has no way to render the model's chat template (no endpoint for it, or no template at all).
    A recipe that can take the template from the user instead (magpie's `chat_template`) catches this one."""


def chat_only(label: str, what: str) -> str:
    return (f"teacher {label} serves chat only: it gives no access to {what}. This recipe needs a teacher that "
            "does: the embedded model (`local`), `transformers`, or an OpenAI-compatible server with "
            "/v1/completions (vLLM, llama.cpp's llama-server).")


