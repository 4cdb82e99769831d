"""A provider's API key: read from the environment variable its spec names, and never stored or shown.

Each provider's spec sets the variable's default name (`OPENAI_API_KEY` for openai, `ANTHROPIC_API_KEY` for
anthropic); `api_key_env` names another. Whether its hosted API needs one at all, its class declares
(`Provider.needs_key`). When is a missing key an error?

* the config names the variable itself (`api_key_env: MY_KEY`): always — the user said a key is needed, and a
  run that sent no key would fail at the first call, or worse, succeed against the wrong server;
* no `api_key_env`, no `base_url`: the hosted API needs a key;
* no `api_key_env`, a `base_url`: no — a local server (vLLM, llama.cpp, Ollama) usually takes none.

`check_roles` makes that check at config time (`distill validate`, `distill run`), naming the file and line;
`api_key_for` makes it again where a provider is built, for a spec that did not come from a file.

A key is read only through `secrets.read_env`, which remembers its value: from then on it is masked, by value,
in everything distill prints or writes, even where a server echoes it back in a shape no pattern would know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distill.errors import InputError
from distill.providers.registry import provider_class
from distill.providers.spec import ProviderSpec
from distill.secrets import read_env


def named_explicitly(spec: ProviderSpec) -> bool:
    """Whether the config (file, --set or --teacher kept from the file) named the key variable itself."""
    return "api_key_env" in spec.model_fields_set


def key_problem(spec: ProviderSpec, *, hosted_needs_key: bool = True) -> str | None:
    """Why `spec` cannot have its key now, or None. Never returns the key's value; reading it remembers it
    (distill/secrets.py), so that every message and file masks it from then on."""
    if read_env(spec.api_key_env):
        return None
    var = spec.api_key_env
    if named_explicitly(spec):
        return (f"the environment variable {var} is not set (or is empty), and this config names it as the key "
                f"of {spec.label()}. Set it (export {var}=...), or remove `api_key_env` if the server needs no key.")
    if spec.base_url is None and hosted_needs_key:
        return (f"{spec.label()}: no API key. Set the environment variable {var} (or name another one with "
                "`api_key_env`), or give a `base_url` for a server that needs no key.")
    return None


def api_key_for(spec: ProviderSpec) -> str | None:
    """The key for `spec`'s requests, or None when it may go without (a `base_url`, no variable named)."""
    problem = key_problem(spec)
    if problem is not None:
        raise InputError(problem)
    return read_env(spec.api_key_env)


def needs_key(provider: str) -> bool:
    """Whether the provider's class declares that its hosted API needs a key (`Provider.needs_key`)."""
    return bool(getattr(provider_class(provider), "needs_key", False))


def check_roles(specs: dict[str, ProviderSpec | None], where: Callable[[tuple[Any, ...]], str]) -> None:
    """Each role's key, before anything is written: `where(loc)` locates a key path (`src.where`)."""
    for role, spec in specs.items():
        if spec is None:
            continue
        problem = key_problem(spec, hosted_needs_key=needs_key(spec.provider))
        if problem is None:
            continue
        if named_explicitly(spec):
            raise InputError(f"{where((role, 'api_key_env'))}: {role}.api_key_env: {problem}")
        raise InputError(f"{where((role,))}: {role}: {problem}")
