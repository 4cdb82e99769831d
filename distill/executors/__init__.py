"""Executors: where a run's work happens. The driver (the `distill run` process) always holds the recipe logic,
the call cache and the run folder; an executor decides where the *calls* run and schedules the work items.

* `local` (the default): every call in this process; work items in a sliding window (`engine/window.py`).
* `ray`: the same sliding window on the driver, while calls are dispatched to Ray actors — a pool of workers for
  HTTP providers, one replica per actor for in-process models (llama.cpp, transformers), with one rate-limiter
  actor shared by every worker. See `ray_executor.py`.

The dispatch seam is `Executor.provider(spec)`: the object every call to one model goes through. Today it is
immediate (the call is made, the answer comes back). A deferred dispatcher — a batch API — fits the same
`complete()`: it parks the call, submits it with others, and resolves it when the results are downloaded; the
`Teacher` commits the answer to the cache when it resolves, exactly as for an immediate call.

Executors are named in a lazy `module:attr` registry, so `import distill` never imports ray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distill.executors.base import Executor, ExecutorSpec

EXECUTORS: dict[str, str] = {
    "local": "distill.executors.local:LocalExecutor",
    "ray": "distill.executors.ray_executor:RayExecutor",
}


def create_executor(spec: ExecutorSpec) -> Executor:
    from distill.errors import InputError

    module, _, attr = EXECUTORS[spec.kind].partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        raise InputError(f"executor {spec.kind!r} needs the package {exc.name!r}: pip install 'distill[{spec.kind}]'"
                         ) from None
    return cls(spec)  # type: ignore[no-any-return]
