"""The `executor:` config and the `Executor` protocol every executor implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from distill.providers.base import Provider
from distill.providers.spec import ProviderSpec

T = TypeVar("T")


class ExecutorSpec(BaseModel):
    """`executor: ray` or `executor: {kind: ray, address: auto, workers: 4, ...}`; `local` by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field("local", description="local, ray, or an executor a plugin registers under the "
                                           "`distill.executors` entry-point group")
    address: str | None = Field(None, description="ray: unset starts a local Ray; `auto` joins the cluster this "
                                                  "machine belongs to; `ray://HOST:10001` a remote one")
    workers: int = Field(2, ge=1, le=4096, description="ray: worker actors per HTTP provider")
    replicas: int = Field(1, ge=1, le=4096, description="ray: replicas of each in-process model (llama.cpp, "
                                                        "transformers), one actor each")
    num_cpus: float | None = Field(None, ge=0, description="ray: CPUs each in-process model replica reserves "
                                                           "(default 1); also its llama.cpp threads")
    num_gpus: float | None = Field(None, ge=0, description="ray: GPUs each in-process model replica reserves")
    max_restarts: int = Field(3, ge=0, le=1000, description="ray: restarts of a crashed worker or replica")
    runtime_env: dict[str, Any] | None = Field(None, description="ray: passed to ray.init (e.g. pip, env_vars)")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    @field_validator("kind")
    @classmethod
    def _registered(cls, kind: str) -> str:
        from distill.executors import REGISTRY

        if kind not in REGISTRY:
            raise ValueError(f"unknown executor {kind!r} (known: {', '.join(REGISTRY.names())})")
        return kind

    @model_validator(mode="after")
    def _ray_only(self) -> ExecutorSpec:
        if self.kind == "local":
            given = sorted(k for k in self.model_fields_set if k != "kind")
            if given:
                raise ValueError(f"{', '.join(given)} only apply to `kind: ray`")
        return self


class Executor(Protocol):
    """Where calls run and how work items are scheduled. The driver keeps the recipe logic, the cache and the
    run folder in every executor, so the same config and seed give the same dataset under each."""

    spec: ExecutorSpec

    async def start(self) -> None:
        """Connect to whatever the executor runs on (nothing for `local`)."""

    async def provider(self, spec: ProviderSpec) -> Provider:
        """The dispatcher every call to this model goes through (one per distinct spec)."""

    async def scorer(self, spec: ProviderSpec) -> Any:
        """The in-process reward model (`reward: {provider: transformers, ...}`) that scores conversations:
        `await scorer.score(messages) -> {name: value}`, with an `identity` for cache keys."""

    async def release(self, spec: ProviderSpec) -> None:
        """Close and forget the provider made for `spec` (an in-process model's memory is freed: self_improve
        drops each checkpoint's student once the next one serves); asking for `spec` again makes it anew."""

    async def run(self, items: Iterable[T], step: Callable[[T], Awaitable[None]], width: int,
                  fast: Callable[[T], bool] | None = None) -> None:
        """Run `step` over `items`, at most `width` at a time; `fast(item)` may finish one synchronously."""

    def describe(self) -> dict[str, Any]:
        """What the manifest records about where the run ran."""

    async def close(self) -> None:
        """Close every provider this executor made, then disconnect."""
