"""Provider names to lazily imported classes (`module:attr`), so importing distill never imports a backend.

Built-ins are registered exactly as a third-party plugin would be: an entry in `PROVIDERS`. Third parties can
add their own through the `distill.providers` entry-point group.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from distill.errors import InputError

if TYPE_CHECKING:
    from distill.providers.base import Provider
    from distill.providers.spec import ProviderSpec

PROVIDERS: dict[str, str] = {
    "openai": "distill.providers.openai_http:OpenAIHTTPProvider",
    "openai/sdk": "distill.providers.openai_sdk:OpenAISDKProvider",
    "local": "distill.providers.local:LocalProvider",
    "transformers": "distill.providers.transformers_lm:TransformersProvider",
}


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="distill.providers")}


def load_target(target: str) -> type:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def create_provider(spec: "ProviderSpec") -> "Provider":
    name = spec.provider
    if name == "openai" and spec.transport == "sdk":
        name = "openai/sdk"
    target = PROVIDERS.get(name) or _entry_points().get(name)
    if target is None:
        known = ", ".join(sorted(k for k in PROVIDERS if "/" not in k))
        raise InputError(f"unknown provider {spec.provider!r}; known providers: {known}")
    try:
        cls = load_target(target)
    except ModuleNotFoundError as exc:
        raise InputError(f"provider {spec.provider!r} needs the package {exc.name!r}, which is not installed") from None
    return cls(spec)  # type: ignore[no-any-return]
