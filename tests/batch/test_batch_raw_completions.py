"""Magpie in batch mode: its queries are raw completions, and they go through OpenAI's batch API too (endpoint
/v1/completions, in batches of their own), at the batch price, giving the dataset immediate calls give. On
Anthropic, which has no raw completions, the run stops with the provider's message, batch mode or not."""

from __future__ import annotations

import json
from pathlib import Path

from anthropic_server import AnthropicServer
from helpers import distill, read_jsonl, write
from openai_batch_server import OpenAIBatchServer

FAST = "{poll_seconds: 0.05, max_poll_seconds: 0.2, gather_seconds: 0.2, price_factor: 0.5}"
RULES = [{"match": r"^<\|im_start\|>system", "reply": "Which sorting algorithm suits dataset {h} best, and why?"},
         {"match": "You are rating a request", "reply": '{"difficulty": "medium", "quality": "good"}'},
         {"match": "^Which sorting", "reply": "Merge sort, because {h} is large."}]


def magpie(tmp_path: Path, teacher: str, out: str) -> Path:
    return write(tmp_path / f"{out}.yaml", f"""recipe: magpie
teacher: {teacher}
out: {tmp_path / out}
seed: 3
options: {{count: 6, system: Ask about algorithms.}}
""")


def test_magpie_queries_go_by_batch_as_completions_and_make_the_immediate_dataset(tmp_path):
    price = "price: {prompt_per_mtok: 2.0, completion_per_mtok: 8.0}"
    with OpenAIBatchServer(raw=True, rules=RULES, batch={"polls": 2}) as server:
        teacher = f"{{provider: openai, model: m, base_url: {server.url}, {price}, batch: {FAST}}}"
        res = distill("run", str(magpie(tmp_path, teacher, "run")), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
        assert server.stats()["answered"] == 0  # not one immediate generation
        now = f"{{provider: openai, model: m, base_url: {server.url}, {price}}}"
        assert distill("run", str(magpie(tmp_path, now, "now")), "--no-progress").returncode == 0
    # the queries in a /v1/completions batch, then their tags and answers (chat) in the next
    assert stats["endpoints"] == ["/v1/completions", "/v1/chat/completions"] and stats["sizes"] == [6, 12]
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert data == read_jsonl(tmp_path / "now" / "data.jsonl") and len(data) == 6
    assert data[0]["instruction"].startswith("Which sorting") and data[0]["output"].startswith("Merge sort")
    usage = json.loads((tmp_path / "run" / "manifest.json").read_text())["usage"]
    assert usage["teacher"]["batched"] == usage["teacher"]["answered"] == 18
    assert usage["teacher"]["cost_usd"] > 0 and "at batch price" in (tmp_path / "run" / "README.md").read_text()


def test_magpie_on_anthropic_in_batch_mode_stops_with_the_chat_only_message(tmp_path):
    with AnthropicServer() as server:
        teacher = f"{{provider: anthropic, model: claude-haiku-4-5, base_url: {server.url}, batch: {FAST}}}"
        res = distill("run", str(magpie(tmp_path, teacher, "run")), "--no-progress",
                      env={"ANTHROPIC_API_KEY": "sk-ant-test"})
        stats = server.stats()
    assert res.returncode == 1 and "serves chat only" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert stats.get("batch_lines", 0) == 0  # nothing was sent in a batch


def test_a_completions_batch_resumed_from_its_file_alone_is_made_for_the_completions_endpoint():
    import asyncio

    from distill.batch.openai_batch import OpenAIBatchBackend
    from distill.engine.teacher import RAW_ROLE
    from distill.providers.base import GenerationParams
    from distill.providers.registry import spec_class

    with OpenAIBatchServer(raw=True, batch={"polls": 1}) as server:
        spec = spec_class("openai")(provider="openai", model="m", base_url=server.url)

        async def resumed() -> str:
            first, later = OpenAIBatchBackend(spec), OpenAIBatchBackend(spec)  # a new process, after a crash
            line = first.encode("c0", [{"role": RAW_ROLE, "content": "<|im_start|>user\n"}], GenerationParams())
            upload = await first.upload([line])
            batch = await later.create(upload, [])  # from the recorded file alone
            while (await later.poll(batch)).status == "running":
                pass
            results = [r async for _, r in later.results(batch)]
            await first.close()
            await later.close()
            return results[0].choices[0].text  # type: ignore[union-attr]

        text = asyncio.run(resumed())
        assert server.batch_stats()["endpoints"] == ["/v1/completions"]
    assert text.startswith("Answer ")
