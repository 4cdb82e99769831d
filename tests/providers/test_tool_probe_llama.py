"""`calling: auto` at the real boundary: the native tool-calling probe against llama-cpp-python's own server on the
packaged SmolLM2. With its default chat format the server drops `tools` (a plain reply comes back: text form);
with `--chat_format chatml-function-calling` the model is constrained to answer with a call (native). The finding
is kept in the cache: a later teacher on the same folder sends nothing."""

from __future__ import annotations

import asyncio

import pytest
from llama_server import serve_smollm2

from distill.engine.cache import CallCache
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.providers.base import GenerationParams
from distill.providers.registry import create_provider, provider_spec

pytestmark = pytest.mark.slow  # runs the real SmolLM2 model


async def _probe(tmp_path, url):
    spec = provider_spec({"provider": "openai", "model": "smollm2", "base_url": url, "max_concurrency": 1})
    cache = CallCache(tmp_path / "cache.sqlite")
    usage = Usage().role("teacher")
    teacher = Teacher("teacher", create_provider(spec), cache, usage, GenerationParams())
    try:
        return await teacher.tool_calling(), usage.requests, dict(usage.capabilities)
    finally:
        await teacher.close()
        cache.close()


@pytest.mark.parametrize("chat_format, found", [(None, "text"), ("chatml-function-calling", "native")])
def test_the_probe_finds_whether_llama_cpp_server_calls_tools(tmp_path, monkeypatch, chat_format, found):
    pytest.importorskip("llama_cpp.server", reason="needs pip install '.[server]'")
    monkeypatch.setenv("OPENAI_API_KEY", "none")
    extra = ("--chat_format", chat_format) if chat_format else ()
    with serve_smollm2(tmp_path, threads=1, extra=extra) as url:
        mode, requests, capabilities = asyncio.run(_probe(tmp_path, url))
        assert (mode, requests) == (found, 1)
        assert capabilities["tool_calling"] == found
        assert ("tools" in capabilities["refusals"]) == (found == "text")
        assert asyncio.run(_probe(tmp_path, url))[:2] == (found, 0)  # kept: asked once
