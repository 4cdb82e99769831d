"""Provider names to lazily imported classes (`module:attr`), so importing distill never imports a backend, and
`provider_spec()`: a provider's YAML mapping validated against the spec class its name registers.

Built-ins are registered exactly as a third-party plugin would be: an entry in `PROVIDERS` for the class that
makes the calls, and one in `SPECS` for the keys it takes (`options.py`). Third parties add their own through the
`distill.providers` entry-point group; a plugin class declares its keys as a `Spec` attribute (a `ProviderSpec`
subclass), else it takes the common keys only.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

from distill.errors import InputError

if TYPE_CHECKING:
    from pydantic import ValidationError

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
    from distill.providers.spec import ProviderSpec

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


def provider_spec(value: Any) -> ProviderSpec:
    """A short form or a mapping validated against its provider's own spec class. Raises pydantic's
    ValidationError with each error located at its key (`device`, not the whole mapping), so a config error names
    `teacher.device`; a key that only other providers take says which ones do."""
    from pydantic import ValidationError

    from distill.providers.spec import ProviderSpec, short_form

    if isinstance(value, ProviderSpec):
        return value
    data = short_form(value) if isinstance(value, str) else value
    if not isinstance(data, dict):
        return ProviderSpec.model_validate(data)  # pydantic's own error for a wrong type
    name = data.get("provider", "local")
    if isinstance(name, str):
        _check_known(name)
    cls = spec_class(name) if isinstance(name, str) else ProviderSpec
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _explained(exc, cls, str(name)) from None


def _check_known(name: str) -> None:
    """An unknown provider name fails at config time (`distill validate` too), with the near miss it may be."""
    import difflib

    from pydantic import ValidationError
    from pydantic_core import PydanticCustomError

    known = known_providers()
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    msg = (f"unknown provider {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
           + f" (known: {', '.join(known)})")
    raise ValidationError.from_exception_data("ProviderSpec", [
        {"type": PydanticCustomError("unknown_provider", msg), "loc": ("provider",), "input": name}])


def _explained(exc: ValidationError, cls: type[ProviderSpec], name: str) -> ValidationError:
    """`exc` with each unknown key explained: which providers take it, or the near miss it probably is."""
    import difflib

    from pydantic import ValidationError
    from pydantic_core import InitErrorDetails, PydanticCustomError

    errors: list[InitErrorDetails] = []
    for err in exc.errors():
        if err["type"] != "extra_forbidden":
            detail: InitErrorDetails = {"type": err["type"], "loc": err["loc"], "input": err["input"]}
            if "ctx" in err:
                detail["ctx"] = err["ctx"]
            errors.append(detail)
            continue
        key = str(err["loc"][-1])
        owners = sorted(p for p, c in builtin_spec_classes().items() if key in c.model_fields)
        if owners:
            takes = (f"only the {owners[0]} provider takes" if len(owners) == 1 else
                     f"only the {', '.join(owners[:-1])} and {owners[-1]} providers take")
            msg = f"{takes} `{key}`, not {name}"
        else:
            close = difflib.get_close_matches(key, list(cls.model_fields), n=1, cutoff=0.6)
            msg = ("unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
                   + f" (the {name} provider's keys: `distill validate --schema` lists them)")
        errors.append({"type": PydanticCustomError("provider_option", msg), "loc": err["loc"],  # type: ignore[typeddict-item]
                       "input": err["input"]})
    return ValidationError.from_exception_data(exc.title, errors)
