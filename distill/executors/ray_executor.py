"""The `ray` executor: recipe logic, the cache and the run folder stay on the driver; calls run in Ray actors.

    executor: {kind: ray, address: auto, workers: 4, replicas: 2, num_cpus: 1, num_gpus: 0}

* An HTTP provider (OpenAI, vLLM, any OpenAI-compatible server) is served by a pool of `workers` actors, each
  one event loop with its own keep-alive connections; they reserve no CPU.
* An in-process model (its provider class declares `in_process`: `local` llama.cpp, `transformers`) is loaded
  by `replicas` actors, one replica each, reserving `num_cpus` / `num_gpus` apiece (llama.cpp gets `num_cpus`
  threads); calls go to the least busy.
* A transformers reward model (`reward: {provider: transformers, ...}`) is served the same way, by `replicas`
  actors that score conversations.
* A provider with `requests_per_minute` / `tokens_per_minute` gets one `LimiterActor`, which every worker asks
  before each request, so the limit holds across all of them.

Because the recipe runs on the driver and answers are committed to the cache there, the same config and seed
give the same dataset as the local executor, and a re-run started under either replays the other's cache.
`address` unset starts a local Ray (or uses the one this process is already connected to); `auto` joins the
cluster this machine is part of; `ray://HOST:10001` connects through Ray Client. An API key is passed to the
workers as an environment variable of their runtime environment, never written to a file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import Any

from distill.errors import InputError, TeacherError
from distill.executors.base import ExecutorSpec
from distill.executors.local import LocalExecutor
from distill.providers.base import Provider
from distill.providers.spec import ProviderSpec

START_SECONDS = 600.0  # placing the actors and loading a model


class RayExecutor(LocalExecutor):
    def __init__(self, spec: ExecutorSpec) -> None:
        super().__init__(spec)
        self.run_id = uuid.uuid4().hex[:8]
        self._owns_ray = False
        self._pools = 0

    async def start(self) -> None:
        import ray

        if ray.is_initialized():
            return
        try:
            ray.init(address=self.spec.address, runtime_env=self.spec.runtime_env, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.ERROR)
        except (ConnectionError, ValueError) as exc:
            raise InputError(f"executor.address {self.spec.address!r}: cannot connect to Ray: {exc}") from None
        self._owns_ray = True

    async def _make(self, spec: ProviderSpec) -> Provider:
        return await self._pool(spec)

    async def _make_scorer(self, spec: ProviderSpec) -> Any:
        """A transformers reward model as `replicas` actors, like an in-process teacher."""
        return await self._pool(spec, reward=True)

    async def _pool(self, spec: ProviderSpec, reward: bool = False) -> Provider:
        import ray

        from distill.executors.ray_pool import RayPool, Replica
        from distill.executors.ray_worker import LimiterActor, ProviderWorker
        from distill.providers.registry import provider_class

        in_process = reward or bool(getattr(provider_class(spec.provider), "in_process", False))
        self._pools += 1
        prefix = f"distill-{self.run_id}-{spec.provider}-{self._pools}"
        limited = not in_process and bool(spec.requests_per_minute or spec.tokens_per_minute)
        limiter, limiter_name = None, f"{prefix}-limiter"
        if limited:
            limiter = ray.remote(LimiterActor).options(
                name=limiter_name, namespace="distill", num_cpus=0, max_concurrency=100_000,
                max_restarts=self.spec.max_restarts).remote(spec.requests_per_minute, spec.tokens_per_minute)
            spec_on_driver = spec.model_copy(update={"requests_per_minute": None, "tokens_per_minute": None})
        else:
            spec_on_driver = spec
        options: dict[str, Any] = {"namespace": "distill", "max_restarts": self.spec.max_restarts,
                                   "max_task_retries": 0, "max_concurrency": 100_000}
        if in_process:
            cpus = 1.0 if self.spec.num_cpus is None else self.spec.num_cpus
            options.update(num_cpus=cpus, num_gpus=self.spec.num_gpus or 0)
            count, threads = self.spec.replicas, max(1, int(cpus))
        else:
            options.update(num_cpus=0)
            count, threads = self.spec.workers, None
            key = os.environ.get(spec.api_key_env)
            if key:
                options["runtime_env"] = {"env_vars": {spec.api_key_env: key}}
        actor_class = ray.remote(ProviderWorker)
        replicas = [Replica(actor_class.options(name=f"{prefix}-{i}", **options).remote(
            spec, threads, limiter_name if limited else None, reward), f"{prefix}-{i}") for i in range(count)]
        try:
            infos = await asyncio.wait_for(asyncio.gather(*(r.actor.describe.remote() for r in replicas)),
                                           START_SECONDS)
        except asyncio.TimeoutError:
            self._kill([r.actor for r in replicas], limiter)
            raise TeacherError(
                f"Ray could not start {count} actor(s) for {spec.label()} within {START_SECONDS:.0f}s (each needs "
                f"num_cpus={options['num_cpus']}, num_gpus={options.get('num_gpus', 0)}; the cluster has "
                f"{ray.available_resources()} free)") from None
        for info in infos:
            if "error" in info:
                self._kill([r.actor for r in replicas], limiter)
                raise info["error"]
        return RayPool(spec_on_driver, replicas, infos[0], limiter)

    @staticmethod
    def _kill(actors: list[Any], limiter: Any) -> None:
        import ray

        for actor in actors + ([limiter] if limiter is not None else []):
            ray.kill(actor, no_restart=True)

    def describe(self) -> dict[str, Any]:
        live = [p.describe() for p in [*self._providers.values(), *self._scorers.values()] if hasattr(p, "describe")]
        pools = self._released + live
        return {"kind": "ray", "address": self.spec.address, "pools": pools}

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._owns_ray:
                import ray

                ray.shutdown()
