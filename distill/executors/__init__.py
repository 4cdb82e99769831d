"""Executors: where a run's work happens. The driver (the `distill run` process) always holds the recipe logic,
the call cache and the run folder; an executor decides where the *calls* run and schedules the work items.

* `local` (the default): every call in this process; work items in a sliding window (`engine/window.py`).
* `ray`: the same sliding window on the driver, while calls are dispatched to Ray actors — a pool of workers for
  HTTP providers, one replica per actor for in-process models (llama.cpp, transformers), with one rate-limiter
  actor shared by every worker. See `ray_executor.py`.

The dispatch seam is `Executor.provider(spec)`: the object every immediate call to one model goes through (the
call is made, the answer comes back). Batch mode (`batch:` in a model's spec) does not go through it: that
model's `Teacher` (`engine/teacher.py`) hands each call that misses the cache to its batch dispatcher
(`batch/dispatcher.py`), which queues the request, uploads it in a batch through the provider's batch API
(`batch/backend.py`), commits every answer to the cache itself when the batch ends, and then resolves the waiting
call; the run's window widens to several full batches (`RunContext.batch_width`) under either executor.

Executors are named in a lazy `module:attr` registry (`distill/plugins.py`, the same one as recipes and
providers), so `import distill` never imports ray; a plugin adds one under the `distill.executors` entry-point
group, and `executor: NAME` (or `{kind: NAME, ...}`, the same ExecutorSpec) selects it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from distill.plugins import PluginError, Registry

if TYPE_CHECKING:
    from distill.executors.base import Executor, ExecutorSpec

EXECUTORS: dict[str, str] = {
    "local": "distill.executors.local:LocalExecutor",
    "ray": "distill.executors.ray_executor:RayExecutor",
}


REGISTRY = Registry("executor", "distill.executors", EXECUTORS)


def create_executor(spec: ExecutorSpec) -> Executor:
    from distill.errors import InputError

    try:
        cls = REGISTRY.load(spec.kind)
    except PluginError as exc:
        cause = exc.__cause__
        if isinstance(cause, ModuleNotFoundError):
            raise InputError(f"executor {spec.kind!r} needs the package {cause.name!r}: pip install "
                             f"'distill[{spec.kind}]'") from None
        raise InputError(str(exc)) from None
    return cls(spec)  # type: ignore[no-any-return]
