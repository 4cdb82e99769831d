"""Per-provider keys: each provider takes the common keys plus its own; a key meant for another provider fails at
config time naming the key and who takes it; the flat YAML users write today keeps working, with the same cache
keys."""

from __future__ import annotations

import pytest
from helpers import ROOT, distill, write

from distill.config import load_config
from distill.errors import InputError
from distill.providers.base import Provider
from distill.providers.spec import ProviderSpec


def _load(tmp_path, teacher: str, extra: str = ""):
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: {teacher}\n{extra}")
    return load_config(cfg)[0]


@pytest.mark.parametrize(("teacher", "message"), [
    ("{provider: openai, model: m, device: cpu}", "teacher.device: only the transformers provider takes `device`"),
    ("{provider: local, transport: sdk}", "teacher.transport: only the openai provider takes `transport`"),
    ("{provider: anthropic, model: claude-sonnet-4-5, supports_n: false}",
     "teacher.supports_n: only the openai provider takes `supports_n`"),
    ("{provider: openai, model: m, path: /m.gguf}", "teacher.path: only the local and transformers providers take"),
    ("{provider: transformers, path: /m, devise: cpu}", "teacher.devise: unknown key; did you mean 'device'?"),
    ("{provider: openai, model: m, max_concurency: 3}", "teacher.max_concurency: unknown key; did you mean "
                                                        "'max_concurrency'?"),
])
def test_a_key_another_provider_takes_fails_at_config_time(tmp_path, teacher, message):
    with pytest.raises(InputError) as err:
        _load(tmp_path, teacher)
    assert message in str(err.value)
    assert f"{tmp_path / 'r.yaml'}:2:" in str(err.value)  # the file and line of the key


def test_the_cli_exits_2_naming_the_key_and_writes_nothing(tmp_path):
    write(tmp_path / "in.jsonl", '{"instruction": "x"}\n')
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\ninput: {{path: {tmp_path / 'in.jsonl'}}}\n"
                f"out: {tmp_path / 'out'}\njudge: {{provider: openai, model: m, base_url: http://127.0.0.1:9/v1, "
                "batch_size: 4}\n")
    res = distill("run", str(cfg))
    assert res.returncode == 2, res.stderr
    assert "judge.batch_size: only the transformers provider takes `batch_size`, not openai" in res.stderr
    assert not (tmp_path / "out").exists()


def test_each_role_gets_its_providers_keys_and_defaults(tmp_path):
    cfg = _load(tmp_path, "'transformers:/models/tiny'", "judge: 'anthropic:claude-sonnet-4-5'\n"
                "answer_teacher: {provider: openai, model: m, base_url: 'http://127.0.0.1:9/v1', supports_n: false}\n")
    assert (cfg.teacher.path, cfg.teacher.batch_size, cfg.teacher.device) == ("/models/tiny", 8, None)
    assert cfg.judge is not None and cfg.judge.api_key_env == "ANTHROPIC_API_KEY"
    assert cfg.answer_teacher is not None and cfg.answer_teacher.supports_n is False
    assert cfg.answer_teacher.api_key_env == "OPENAI_API_KEY"
    dumped = cfg.model_dump(mode="json")  # the manifest keeps each provider's own keys
    assert dumped["teacher"]["batch_size"] == 8 and dumped["answer_teacher"]["supports_n"] is False
    assert "transport" not in dumped["teacher"] and "device" not in dumped["answer_teacher"]


def test_every_packaged_recipe_yaml_still_loads():
    files = [p for p in sorted((ROOT / "recipes").rglob("*.yaml")) if "\nrecipe:" in "\n" + p.read_text()]
    assert len(files) >= 9
    for path in files:
        load_config(path)


def test_the_schema_lists_each_providers_keys():
    res = distill("validate", "--schema")
    assert res.returncode == 0, res.stderr
    import json

    schema = json.loads(res.stdout)
    options = schema["x-provider-options"]
    assert "device" in options["transformers"]["properties"] and "device" not in options["openai"]["properties"]
    assert "transport" in options["openai"]["properties"]
    assert "default_max_tokens" in options["anthropic"]["properties"]
    assert "max_concurrency" in schema["$defs"]["ProviderSpec"]["properties"]


# Keys computed by the code before the split (one flat ProviderSpec): an upgrade must not change any of them, or a
# re-run would pay again for every answer it already has.
BEFORE = {
    "openai_url": "81cb4abdbf964ac7c989976a0b75dba68cbd3abb87d46ef9a9c5890952bbc8b1",
    "openai_hosted": "0f3a14b573ff4ab3d333eadd97f06692efb99065049923bc2664c9e0b413aa9a",
    "openai_sdk": "84c65eb5fce1ddd8cd54a137328ffae15a436d443cb1145ab2f3ca987a9ac0f7",
    "local": "3d9f15ee603a347fab8b1a91eae880ce10a48c4cb8e9659b135621312eed0ed7",
}
CONFIGS = {
    "openai_url": {"provider": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:8000/v1",
                   "transport": "aiohttp", "supports_n": False, "structured_output": "json_object",
                   "max_concurrency": 7},
    "openai_hosted": {"provider": "openai", "model": "gpt-4o-mini", "extra_body": {"top_k": 5, "api_key": "x"}},
    "openai_sdk": {"provider": "openai", "model": "m", "base_url": "http://u:p@127.0.0.1:9/v1", "transport": "sdk"},
    "local": {"provider": "local"},
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_cache_keys_of_existing_configs_are_unchanged(name, monkeypatch):
    from distill.config import RunConfig
    from distill.engine.cache import call_key, key_identity
    from distill.providers.base import GenerationParams
    from distill.providers.registry import create_provider

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real-000000000000")
    cfg = RunConfig.model_validate({"recipe": "respond", "teacher": CONFIGS[name]})
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}]
    params = GenerationParams(temperature=0.7, max_tokens=32, n=2, seed=3)
    key = call_key(key_identity(create_provider(cfg.teacher)), messages, params.model_dump(exclude_none=True), 1)
    assert key.hex() == BEFORE[name]


def test_a_spec_of_common_keys_gets_its_providers_defaults():
    from distill.providers.registry import create_provider
    from distill.providers.spec import ProviderSpec

    provider = create_provider(ProviderSpec(provider="openai", model="m", base_url="http://127.0.0.1:9/v1"))
    assert provider.spec.transport == "http" and provider.capabilities.supports_n is True  # type: ignore[attr-defined]


class EchoSpec(ProviderSpec):
    """A plugin's own keys, declared the way a third-party provider declares them."""

    voice: str = "plain"


class EchoProvider(Provider):
    Spec = EchoSpec


def test_a_plugin_provider_declares_its_own_keys(tmp_path, monkeypatch):
    from distill import plugins

    monkeypatch.setattr(plugins, "entry_point_targets",
                        lambda group: {"echo": f"{__name__}:EchoProvider"} if group == "distill.providers" else {})
    cfg = _load(tmp_path, "{provider: echo, model: e, voice: loud}")
    assert isinstance(cfg.teacher, EchoSpec) and cfg.teacher.voice == "loud"
    with pytest.raises(InputError, match="teacher.device: only the transformers provider takes `device`, not echo"):
        _load(tmp_path, "{provider: echo, device: cpu}")
    monkeypatch.setattr(plugins, "entry_point_targets", lambda group: {})  # the plugin is not installed
    with pytest.raises(InputError, match="teacher.provider: unknown provider 'echo' "):
        _load(tmp_path, "{provider: echo, voice: loud}")


def test_an_unknown_provider_fails_at_config_time_with_the_near_miss(tmp_path):
    with pytest.raises(InputError) as err:
        _load(tmp_path, "{provider: opanai, model: m}")
    assert "teacher.provider: unknown provider 'opanai'; did you mean 'openai'? (known: anthropic, local, openai, " \
           "transformers" in str(err.value)
    with pytest.raises(InputError, match="unknown provider 'antropic'; did you mean 'anthropic'"):
        _load(tmp_path, "'antropic:claude-haiku-4-5'")
