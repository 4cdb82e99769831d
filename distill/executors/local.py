"""The `local` executor: every call in this process, work items in the sliding window."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from distill.engine.window import sliding_window
from distill.executors.base import ExecutorSpec
from distill.providers.base import Provider
from distill.providers.spec import ProviderSpec

T = TypeVar("T")


class LocalExecutor:
    def __init__(self, spec: ExecutorSpec | None = None) -> None:
        self.spec = spec or ExecutorSpec()
        self._providers: dict[str, Provider] = {}
        self._scorers: dict[str, Any] = {}
        self._released: list[dict[str, Any]] = []  # what released providers did, for describe()

    async def start(self) -> None:
        pass

    async def provider(self, spec: ProviderSpec) -> Provider:
        """One provider per distinct spec: a teacher and an answering teacher with the same spec share it (one
        model in memory for an in-process model)."""
        provider: Provider = await _one_per_spec(self._providers, spec, self._make)
        return provider

    async def release(self, spec: ProviderSpec) -> None:
        provider = self._providers.pop(spec.model_dump_json(), None)
        if provider is not None:
            describe = getattr(provider, "describe", None)  # a Ray pool's figures stay in the manifest
            if describe is not None:
                self._released.append(describe())
            await provider.close()

    async def _make(self, spec: ProviderSpec) -> Provider:
        from distill.providers.registry import create_provider

        return create_provider(spec)

    async def scorer(self, spec: ProviderSpec) -> Any:
        """One reward model per distinct spec, loaded in this process."""
        return await _one_per_spec(self._scorers, spec, self._make_scorer)

    async def _make_scorer(self, spec: ProviderSpec) -> Any:
        from distill.quality.reward_transformers import TransformersReward

        return TransformersReward(spec)

    async def run(self, items: Iterable[T], step: Callable[[T], Awaitable[None]], width: int,
                  fast: Callable[[T], bool] | None = None) -> None:
        await sliding_window(items, step, width, fast)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.spec.kind}

    async def close(self) -> None:
        providers, self._providers = [*self._providers.values(), *self._scorers.values()], {}
        self._scorers = {}
        for provider in providers:
            await provider.close()


async def _one_per_spec(made: dict[str, Any], spec: ProviderSpec,
                        make: Callable[[ProviderSpec], Awaitable[Any]]) -> Any:
    """What `make` built for `spec` before, or builds now and keeps."""
    key = spec.model_dump_json()
    if key not in made:
        made[key] = await make(spec)
    return made[key]
