"""The provider registry: provider names to lazily imported provider classes, and everything read from them.

A provider is one class (`base.Provider`) that declares what it is — its spec class (`Spec`), whether its hosted
API needs a key, whether it runs in-process, the hosted API it bills through, its batch backend, its short form —
and this module answers every question about providers from the class registered under the name: the spec
`provider_spec()` validates a YAML mapping against, `short_form()`, `create_provider()`, and, through
`provider_class()`, the key check (`api_key.py`), prices (`engine/prices.py`), the Ray executor and batch mode.

Built-ins are registered exactly as a third-party plugin is: `PROVIDERS` below is the built-in table of the
`distill.providers` entry-point group, loaded by the same generic registry (`distill/plugins.py`):

    [project.entry-points."distill.providers"]
    parrot = "parrot_plugin:Parrot"       # class Parrot(distill.providers.base.Provider)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distill.errors import InputError
from distill.plugins import PluginError, Registry

if TYPE_CHECKING:
    from pydantic import ValidationError

    from distill.providers.base import Provider
    from distill.providers.spec import ProviderSpec

PROVIDERS: dict[str, str] = {
    "openai": "distill.providers.openai_http:OpenAIHTTPProvider",
    "anthropic": "distill.providers.anthropic:AnthropicProvider",
    "local": "distill.providers.local:LocalProvider",
    "transformers": "distill.providers.transformers_lm:TransformersProvider",
}


REGISTRY = Registry("provider", "distill.providers", PROVIDERS, "distill.providers.base:Provider")


def provider_class(name: str) -> type[Provider] | None:
    """The class registered as provider `name`, or None when none is or it cannot be loaded (`create_provider`
    says why when a run needs it)."""
    try:
        return REGISTRY.load(name)  # type: ignore[no-any-return]
    except (KeyError, PluginError):
        return None


def spec_class(name: str) -> type[ProviderSpec]:
    """The spec class of provider `name`: its class's `Spec`, else (unknown, or not loadable) the common keys."""
    from distill.providers.spec import ProviderSpec

    cls = provider_class(name)
    declared = getattr(cls, "Spec", None)
    return declared if isinstance(declared, type) and issubclass(declared, ProviderSpec) else ProviderSpec


def known_providers() -> list[str]:
    """Every provider name a config may use: the built-ins and the installed plugins."""
    return REGISTRY.names()


def spec_classes() -> dict[str, type[ProviderSpec]]:
    """Every loadable provider's spec class by name (a plugin that does not load is left out)."""
    return {name: spec_class(name) for name in known_providers() if provider_class(name) is not None}


def with_batch_api() -> list[str]:
    """The providers that declare a batch backend."""
    return [name for name in known_providers() if getattr(provider_class(name), "batch_backend", None)]


def has_backend(provider: str) -> bool:
    return bool(getattr(provider_class(provider), "batch_backend", None))


def no_backend_message(provider: str) -> str:
    known = ", ".join(with_batch_api())
    return (f"provider {provider!r} has no batch API, so `batch: true` cannot be used with it (batch mode "
            f"works with: {known}). Remove `batch: true`, or use one of those providers.")


def short_form(text: str) -> dict[str, Any]:
    """`NAME`, `NAME:MODEL` or `NAME:MODEL@URL` as a mapping; what MODEL sets is the provider's own
    (`Provider.short_form`: `transformers:/path`, `local:/path/x.gguf` set `path`)."""
    text = text.strip()
    provider, _, rest = text.partition(":")
    if not provider:
        raise ValueError(f"empty provider in {text!r}")
    out: dict[str, Any] = {"provider": provider}
    if rest:
        model, at, url = rest.partition("@")
        cls = provider_class(provider)
        if at or cls is None:
            out["model"] = model or None
            if at:
                out["base_url"] = url
        else:
            out.update(cls.short_form(model))
    return out


def create_provider(spec: ProviderSpec) -> Provider:
    from distill.providers.spec import ProviderSpec

    if type(spec) is ProviderSpec and spec_class(spec.provider) is not ProviderSpec:
        spec = provider_spec(spec.model_dump(exclude_unset=True) | {"provider": spec.provider})  # its defaults
    try:
        cls: type[Provider] = REGISTRY.load(spec.provider)
    except KeyError:
        known = ", ".join(known_providers())
        raise InputError(f"unknown provider {spec.provider!r}; known providers: {known}") from None
    except PluginError as exc:
        cause = exc.__cause__
        if isinstance(cause, ModuleNotFoundError) and cause.name:
            raise InputError(f"provider {spec.provider!r} needs the package {cause.name!r}, which is not "
                             "installed") from None
        raise InputError(str(exc)) from None
    return cls.create(spec)


def provider_spec(value: Any) -> ProviderSpec:
    """A short form or a mapping validated against its provider's own spec class. Raises pydantic's
    ValidationError with each error located at its key (`device`, not the whole mapping), so a config error names
    `teacher.device`; a key that only other providers take says which ones do."""
    from pydantic import ValidationError

    from distill.providers.spec import ProviderSpec

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
        spec = cls.model_validate(data)
    except ValidationError as exc:
        raise _explained(exc, cls, str(name)) from None
    if spec.batch is not False and not has_backend(spec.provider):
        _refuse_batch(spec)
    return spec


def _refuse_batch(spec: ProviderSpec) -> None:
    """`batch:` on a provider that declares no batch backend fails at config time, located at its key."""
    from pydantic import ValidationError

    raise ValidationError.from_exception_data(type(spec).__name__, [
        {"type": "value_error", "loc": ("batch",), "input": spec.batch,
         "ctx": {"error": ValueError(no_backend_message(spec.provider))}}])


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
        owners = sorted(p for p, c in spec_classes().items() if key in c.model_fields)
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
