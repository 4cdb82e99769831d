"""The generic registry (`distill/plugins.py`) behind recipes, providers, batch backends, executors and commands:
built-ins and entry-point plugins through one loader, imported only when used, a built-in name never taken over,
a plugin that cannot be used named with the reason while the others stay usable."""

from __future__ import annotations

import sys

import pytest

from distill import plugins
from distill.plugins import PluginError, Registry, load_target


class Base:
    pass


class Good(Base):
    pass


class Stranger:
    pass


def _plugins(monkeypatch, found: dict[str, str]) -> None:
    monkeypatch.setattr(plugins, "entry_point_targets", lambda group: found if group == "distill.things" else {})


def test_built_ins_and_plugins_load_through_one_loader(monkeypatch):
    _plugins(monkeypatch, {"plug": f"{__name__}:Good", "good": f"{__name__}:Stranger"})
    things = Registry("thing", "distill.things", {"good": f"{__name__}:Good"}, Base)
    assert things.names() == ["good", "plug"] and "plug" in things and "nope" not in things
    assert things.load("good") is Good and things.load("plug") is Good  # the built-in keeps its name
    with pytest.raises(KeyError):
        things.load("nope")


def test_a_plugin_that_cannot_be_used_says_why_and_leaves_the_others(monkeypatch, tmp_path):
    (tmp_path / "raising_thing_mod.py").write_text("class Thing:\n    pass\n\nundefined_name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _plugins(monkeypatch, {"odd": f"{__name__}:Stranger", "gone": "no_such_module_here:X",
                           "raising": "raising_thing_mod:Thing",
                           "typo": f"{__name__}:Goood", "plug": f"{__name__}:Good"})
    things = Registry("thing", "distill.things", {}, f"{__name__}:Base")  # the base named lazily too
    classes, unusable = things.loaded()
    assert classes == {"plug": Good}
    assert unusable["odd"] == f"thing 'odd' ({__name__}:Stranger) is not a {__name__}.Base subclass"
    assert unusable["gone"].startswith("thing 'gone' (no_such_module_here:X) cannot be loaded: No module named")
    assert "cannot be loaded" in unusable["typo"]
    assert unusable["raising"] == ("thing 'raising' (raising_thing_mod:Thing) cannot be loaded: importing it raised "
                                   "NameError: name 'undefined_name' is not defined")
    with pytest.raises(PluginError) as err:
        things.load("gone")
    assert isinstance(err.value.__cause__, ModuleNotFoundError)  # callers can name the missing package


def test_nothing_is_imported_before_a_name_is_used(monkeypatch, tmp_path):
    (tmp_path / "lazy_thing_mod.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _plugins(monkeypatch, {})
    things = Registry("thing", "distill.things", {"lazy": "lazy_thing_mod:Thing"})
    assert things.names() == ["lazy"] and "lazy_thing_mod" not in sys.modules
    assert things.load("lazy").__name__ == "Thing" and "lazy_thing_mod" in sys.modules
    monkeypatch.delitem(sys.modules, "lazy_thing_mod")


def test_a_target_is_module_colon_attribute():
    assert load_target("distill.plugins:Registry.load") is Registry.load
    with pytest.raises(ImportError, match="not of the form module:attr"):
        load_target("distill.plugins.Registry")


def test_every_provider_fact_comes_from_the_registered_class(monkeypatch):
    """The tables that used to list providers by name (prices, keys, batch, Ray, short forms) answer for a
    plugin's class as for a built-in's."""
    from distill.engine.prices import batch_factor, price_info
    from distill.providers.api_key import needs_key
    from distill.providers.base import Provider
    from distill.providers.hosted import Hosted
    from distill.providers.registry import has_backend, provider_class, short_form
    from distill.providers.spec import ProviderSpec

    class Keyed(Provider):
        needs_key = True
        hosted = Hosted("openai", frozenset({"api.keyed.example"}), batch_factor=0.25)
        batch_backend = "openai"

    class Inside(Provider):
        in_process = True

        @classmethod
        def short_form(cls, model):
            return {"model": model.upper()}

    monkeypatch.setattr(sys.modules[__name__], "Keyed", Keyed, raising=False)
    monkeypatch.setattr(sys.modules[__name__], "Inside", Inside, raising=False)
    monkeypatch.setattr(plugins, "entry_point_targets", lambda group: {
        "keyed": f"{__name__}:Keyed", "inside": f"{__name__}:Inside"} if group == "distill.providers" else {})
    assert provider_class("keyed") is Keyed and provider_class("nope") is None
    assert needs_key("keyed") and needs_key("openai") and not needs_key("inside") and not needs_key("local")
    assert has_backend("keyed") and not has_backend("inside")
    assert price_info(ProviderSpec(provider="inside")).source == "in-process"
    assert price_info(ProviderSpec(provider="local")).source == "in-process"
    assert batch_factor(ProviderSpec(provider="keyed", model="m")) == 0.25
    assert batch_factor(ProviderSpec(provider="keyed", model="m", base_url="http://127.0.0.1:9/v1")) == 1.0
    assert batch_factor(ProviderSpec(provider="openai", model="m")) == 0.5
    assert short_form("inside:tiny") == {"provider": "inside", "model": "TINY"}
    assert short_form("inside:tiny@http://h:1/v1") == {"provider": "inside", "model": "tiny",
                                                        "base_url": "http://h:1/v1"}
    assert short_form("local:/m/x.gguf") == {"provider": "local", "path": "/m/x.gguf"}
    assert short_form("transformers:org/model") == {"provider": "transformers", "path": "org/model"}


def test_a_plugin_executor_is_configured_and_made_like_a_built_in(monkeypatch):
    from pydantic import ValidationError

    from distill.executors import create_executor
    from distill.executors.base import ExecutorSpec
    from distill.executors.local import LocalExecutor

    class Nearby(LocalExecutor):
        pass

    monkeypatch.setattr(sys.modules[__name__], "Nearby", Nearby, raising=False)
    monkeypatch.setattr(plugins, "entry_point_targets",
                        lambda group: {"nearby": f"{__name__}:Nearby"} if group == "distill.executors" else {})
    spec = ExecutorSpec.model_validate("nearby")
    assert spec.kind == "nearby" and type(create_executor(spec)) is Nearby
    assert type(create_executor(ExecutorSpec())) is LocalExecutor
    with pytest.raises(ValidationError, match=r"unknown executor 'naerby' \(known: local, nearby, ray\)"):
        ExecutorSpec.model_validate({"kind": "naerby"})
