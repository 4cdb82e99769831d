"""Provider names to lazily imported classes (`module:attr`), so importing distill never imports a backend.

Built-ins are registered exactly as a third-party plugin would be: an entry in `PROVIDERS` for the class that
makes the calls, and one in `SPECS` for the keys it takes (`options.py`). Third parties add their own through the
`distill.providers` entry-point group; a plugin class declares its keys as a `Spec` attribute (a `ProviderSpec`
subclass), else it takes the common keys only.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from distill.errors import InputError

if TYPE_CHECKING:
    from distill.providers.base import Provider
    from distill.providers.spec import ProviderSpec

PROVIDERS: dict[str, str] = {
    "openai": "distill.providers.openai_http:OpenAIHTTPProvider",
    "openai/sdk": "distill.providers.openai_sdk:OpenAISDKProvider",
    "anthropic": "distill.providers.anthropic:AnthropicProvider",
    "local": "distill.providers.local:LocalProvider",
    "transformers": "distill.providers.transformers_lm:TransformersProvider",
}

SPECS: dict[str, str] = {
    "openai": "distill.providers.options:OpenAISpec",
    "anthropic": "distill.providers.options:AnthropicSpec",
    "local": "distill.providers.options:LocalSpec",
    "transformers": "distill.providers.options:TransformersSpec",
}


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="distill.providers")}


def load_target(target: str) -> type:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def spec_class(name: str) -> type[ProviderSpec]:
    """The spec class of provider `name`: a built-in's from `SPECS`, a plugin's `Spec`, else the common keys."""
    from distill.providers.spec import ProviderSpec

    if name in SPECS:
        return load_target(SPECS[name])
    target = _entry_points().get(name)
    if target is not None:
        try:
            declared = getattr(load_target(target), "Spec", None)
        except ImportError:
            declared = None  # create_provider reports the missing package
        if isinstance(declared, type) and issubclass(declared, ProviderSpec):
            return declared
    return ProviderSpec


def known_providers() -> list[str]:
    """Every provider name a config may use: the built-ins and the installed plugins."""
    return sorted({k for k in PROVIDERS if "/" not in k} | set(_entry_points()))


@cache
def builtin_spec_classes() -> dict[str, type[ProviderSpec]]:
    return {name: load_target(target) for name, target in SPECS.items()}


def create_provider(spec: ProviderSpec) -> Provider:
    from distill.providers.spec import ProviderSpec, provider_spec

    if type(spec) is ProviderSpec and spec_class(spec.provider) is not ProviderSpec:
        spec = provider_spec(spec.model_dump(exclude_unset=True) | {"provider": spec.provider})  # its defaults
    name = spec.provider
    if name == "openai" and getattr(spec, "transport", "http") == "sdk":
        name = "openai/sdk"
    target = PROVIDERS.get(name) or _entry_points().get(name)
    if target is None:
        known = ", ".join(known_providers())
        raise InputError(f"unknown provider {spec.provider!r}; known providers: {known}")
    try:
        cls = load_target(target)
    except ModuleNotFoundError as exc:
        raise InputError(f"provider {spec.provider!r} needs the package {exc.name!r}, which is not installed") from None
    return cls(spec)  # type: ignore[no-any-return]
