"""tool_use: function-calling conversations, verified in three stages (APIGen / xLAM, Liu et al. 2024, arXiv
2406.18518), in the chat format trainers load (assistant `tool_calls`, `tool` messages, a `tools` column).

For each example (`count`, or `--num`) a seeded subset of the user's tools is offered and a category chosen in
turn from `categories` (simple, multiple, parallel, parallel_multiple and the Berkeley leaderboard's
irrelevance); the teacher writes a user request of that category, then answers it calling tools — described in
the system prompt and read back from its text (`<tool_call>` blocks or JSON, distill/tools/calls.py), so every
teacher can run it, the embedded SmolLM2 included. Each call passes the format stage (known function, arguments
valid against its JSON schema) and the execution stage (the user's Python function is run with a timeout; a tool
with a schema only has its result simulated by the teacher, marked `meta.simulated`); results go back until the
teacher answers in words or `max_steps` turns have called. `calling: native` sends the tools in the API's
`tools` parameter instead and reads `tool_calls` replies (an OpenAI-compatible server that supports them);
`calling: auto` (the default) uses native calling where the endpoint honours it — Anthropic always, an
OpenAI-compatible server when it answers a one-tool probe with a call (`Teacher.tool_calling`, kept with the
endpoint's traits) — and the text form otherwise; the manifest's `tool_use.calling` says which was used.
The calls must have the category's shape
(tools/categories.py). With `followups: N` the teacher then plays the user N times (prompts/tool_use/followup.j2,
the conversation so far given as data) and each follow-up is answered with the tools through the same format and
execution stages (`turns:` is refused: its follow-ups would be answered without tools). A judge (`judge:` or the
teacher) decides the semantic stage over the whole conversation: are these the right calls and does the answer
use the results.

Differences from APIGen: its queries and calls came from one generator prompt returning JSON, with 3,673 real
APIs executed over REST; here the request and the calls are separate turns (the calls are the teacher's own
behaviour, the thing a student learns), the tools are the user's, and the category check is ours. The text form
is the fallback because every teacher can run it; `calling: native` works with OpenAI-compatible servers that
support tools and with Anthropic (tools as `input_schema`, calls as `tool_use` blocks, results as `tool_result`).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from distill.errors import InputError
from distill.prompts import render
from distill.providers.base import GenerationParams
from distill.recipes.base import Estimate, Recipe
from distill.recipes.shared.yes_no_verdict import read_verdict
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.text.json_text import decode_json_prefix
from distill.tools.calls import ToolCall, from_openai, from_text
from distill.tools.catalog import Tool, tools_from_json, tools_from_python
from distill.tools.categories import CATEGORIES, Category, shape_problem
from distill.tools.checks import check_format, execute


class ToolUseOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tools: str = Field(description="the tools: a JSON file of OpenAI-style function schemas, or module:attr / "
                                   "file.py:attr naming a function, a list of functions or a dict of them")
    count: int = Field(20, ge=1, description="examples to make (--num overrides)")
    categories: list[Category] = Field(default_factory=lambda: list(CATEGORIES), min_length=1)
    tools_per_example: int = Field(3, ge=1, le=64, description="tools offered per example (simple: one)")
    max_steps: int = Field(3, ge=1, le=16, description="assistant turns that may call tools before the answer")
    followups: int = Field(0, ge=0, le=4, description="follow-up user requests per conversation, written by the "
                                                      "teacher and answered with the tools like the first")
    call_timeout: float = Field(10.0, gt=0, description="seconds a Python tool may run")
    semantic_check: bool = Field(True, description="the third stage: a judge reads the calls and the answer")
    calling: Literal["auto", "text", "native"] = Field(
        "auto", description="text: tools described in the system prompt, calls read from the reply (every "
                            "teacher); native: the API's own tool calling (OpenAI-compatible servers that "
                            "support it, Anthropic); auto: native where the endpoint honours it (Anthropic, or an "
                            "OpenAI-compatible server that answers a probe with a tool call), text otherwise")
    query: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=256)
    followup: GenerationParams = GenerationParams(temperature=0.8, max_tokens=192)
    call: GenerationParams = GenerationParams(temperature=0.2, max_tokens=512)
    simulate: GenerationParams = GenerationParams(temperature=0.0, max_tokens=256)
    judge: GenerationParams = GenerationParams(temperature=0.0, max_tokens=64)


@dataclass
class _Convo:
    """One conversation as it grows: what the teacher is sent (`prompt`: the text form's system turn, the API's
    own tool-call form) and what the record keeps (`messages`), the calls per calling turn, and whether a result
    was simulated."""
    prompt: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    steps: list[list[ToolCall]] = field(default_factory=list)
    simulated: bool = False


class _Rejected(Exception):
    """An example ended in a rejection (already recorded)."""


class ToolUse(Recipe):
    name = "tool_use"
    summary = "function-calling conversations over your tools, verified by format, execution and a judge"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = ToolUseOptions
    options: ToolUseOptions

    def _load_tools(self, base: Any) -> list[Tool]:
        where = "options.tools"
        ref = self.options.tools
        if ref.endswith(".json"):
            return tools_from_json((base / ref).resolve(), where)
        from distill.recipes.shared.user_code import load_reference

        found = load_reference(ref, where, base, "distill_user_tools", lambda v: v is not None, "tools")
        return tools_from_python(found, where)

    def _offered(self, i: int, seed: int) -> tuple[Category, list[Tool]]:
        category = self.options.categories[i % len(self.options.categories)]
        k = 1 if category == "simple" else min(self.options.tools_per_example, len(self.tools))
        return category, random.Random(f"{seed}:{i}").sample(self.tools, k)

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        self.tools = self._load_tools(cfg._base)
        out = []
        for i in range(min(limit, cfg.num or self.options.count)):
            category, tools = self._offered(i, cfg.seed)
            out.append([{"role": "user", "content": render("tool_use/query.j2", category=category, tools=tools)}])
        return out

    @staticmethod
    def _single_turn(cfg: Any) -> None:
        """`turns:` extends records with follow-ups answered without tools and outside the three stages: refused
        here rather than making unverified turns; `followups` makes follow-ups that go through the stages."""
        if cfg.turns > 1:
            raise InputError(f"turns: {cfg.turns}: a tool_use conversation's follow-up requests are answered with "
                             "the tools and checked like the first, which `turns:` would not do: use "
                             f"`options.followups: {cfg.turns - 1}` instead of `turns:`")

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        self._single_turn(cfg)
        count = cfg.num or self.options.count
        out = Estimate(candidates=count, about=True,
                       basis="one request, one calling turn and one answering turn per example, and per follow-up "
                             "one more of each; simulated results add a call per call"
                       ).add("teacher", count * 3 * (1 + self.options.followups))
        return out.add("judge", count) if self.options.semantic_check else out

    async def run(self) -> None:
        ctx = self.ctx
        self._single_turn(ctx.config)
        self.tools = self._load_tools(ctx.config._base)
        if not self.tools:
            raise InputError("options.tools: no tools")
        count = ctx.config.num or self.options.count
        calling: str = self.options.calling
        if calling == "auto":
            calling = await ctx.teacher.tool_calling()  # a probe, once per endpoint (engine/server_traits.py)
        self.native = calling == "native"
        offered = Counter(self._offered(i, ctx.seed)[0] for i in range(count))
        self.accepted: Counter[str] = Counter()
        summary: dict[str, Any] = {
            "tools": [{"name": t.name, "description": t.description,
                       "results": "run" if t.function is not None else "simulated"} for t in self.tools],
            "examples": count, "categories": list(self.options.categories), "calling": calling,
            "calling_detected": self.options.calling == "auto"}
        ctx.extra_manifest["tool_use"] = summary
        self.made = 0
        await ctx.map(range(count), self._example)
        summary["category_mix"] = {c: {"examples": offered[c], "accepted": self.accepted[c]}
                                   for c in self.options.categories if offered[c]}  # the card's table
        ctx.target("examples", self.made, count)  # a run that accepted none of them says so and exits 1

    async def _example(self, i: int) -> None:
        category, tools = self._offered(i, self.ctx.seed)
        item: dict[str, Any] = {"index": i, "category": category, "tools": [t.name for t in tools]}
        try:
            query = await self._query(i, item, category, tools)
            item["query"] = query
            convo = self._start(query, tools)
            answer = await self._dialogue(i, item, convo, tools)
            problem = shape_problem(category, convo.steps)  # the category is the first request's
            if problem:
                self.ctx.reject(order_key(i), "shape", "category_mismatch", item, detail=problem)
                return
            for turn in range(self.options.followups):
                followup = await self._followup(i, item, convo, tools, turn)
                convo.prompt.append({"role": "user", "content": followup})
                convo.messages.append({"role": "user", "content": followup})
                answer = await self._dialogue(i, item, convo, tools)
            messages, steps, simulated = convo.messages, convo.steps, convo.simulated
            if self.options.semantic_check:
                await self._semantics(i, item, tools, messages, answer)
        except _Rejected:
            return
        meta = {"recipe": self.name, "index": i, "category": category, "tools": [t.name for t in tools],
                "calls": sum(len(s) for s in steps), "simulated": simulated,
                "calling": "native" if self.native else "text",
                "teacher": self.ctx.teacher.spec.short_name(), "stages": ["query", "call", "shape", "semantics"],
                "scores": {}}
        self.made += 1
        self.accepted[category] += 1
        record = make_record(instruction=query, output=answer, meta=meta)
        record["messages"] = messages
        record["tools"] = [t.openai() for t in tools]
        await self.ctx.submit(order_key(i), "semantics", record)

    async def _ask(self, i: int, stage: str, item: dict[str, Any], prompt: list[dict[str, Any]],
                   params: GenerationParams) -> str:
        """One teacher call's text; a failed call, a truncated or empty reply ends the example."""
        ctx = self.ctx
        reply = await ctx.call(order_key(i), stage, item, ctx.teacher.complete(prompt, params))
        if reply is None:
            raise _Rejected
        choice = reply.choices[0]
        if choice.finish_reason == "length" or not choice.text.strip():
            ctx.reject(order_key(i), stage, "truncated" if choice.finish_reason == "length" else "empty", item,
                       raw=choice.text)
            raise _Rejected
        return choice.text.strip()

    def _params(self, which: GenerationParams, **extra: Any) -> GenerationParams:
        return self.ctx.teacher.params(**which.model_dump(exclude_none=True)).merged(n=1, **extra)

    async def _query(self, i: int, item: dict[str, Any], category: str, tools: list[Tool]) -> str:
        prompt = [{"role": "user", "content": render("tool_use/query.j2", category=category, tools=tools)}]
        text = await self._ask(i, "query", item, prompt, self._params(self.options.query,
                                                                      seed=self.ctx.seed * 1_000_003 + i))
        if len(text.split()) < 3:
            self.ctx.reject(order_key(i), "query", "too_short", item, raw=text)
            raise _Rejected
        return text

    def _start(self, query: str, tools: list[Tool]) -> _Convo:
        schemas = json.dumps([t.openai() for t in tools], indent=1, ensure_ascii=False)
        prompt: list[dict[str, Any]] = [] if self.native else [
            {"role": "system", "content": render("tool_use/system.j2", tools=schemas)}]
        prompt.append({"role": "user", "content": query})
        return _Convo(prompt=prompt, messages=[{"role": "user", "content": query}])

    async def _followup(self, i: int, item: dict[str, Any], convo: _Convo, tools: list[Tool], turn: int) -> str:
        """The teacher, playing the user, writes the next request of the conversation so far (read as data)."""
        prompt = [{"role": "user", "content": render("tool_use/followup.j2", tools=tools, messages=convo.messages)}]
        params = self._params(self.options.followup, seed=(self.ctx.seed * 1_000_003 + i) * 7 + turn)
        text = await self._ask(i, "followup", item, prompt, params)
        if len(text.split()) < 3:
            self.ctx.reject(order_key(i), "followup", "too_short", item, raw=text)
            raise _Rejected
        return text

    async def _dialogue(self, i: int, item: dict[str, Any], convo: _Convo, tools: list[Tool]) -> str:
        """The teacher answers the conversation's last user request with the tools, calling until it answers in
        words; the turns go on `convo`. Returns the answer."""
        ctx = self.ctx
        by_name = {t.name: t for t in tools}
        native = self.native
        prompt, messages, steps = convo.prompt, convo.messages, convo.steps
        # tool_choice "auto" (the API's default) said outright: llama-cpp-python ignores tools without it
        params = self._params(self.options.call, tools=[t.openai() for t in tools], tool_choice="auto") if native \
            else self._params(self.options.call)
        for step in range(self.options.max_steps + 1):
            text, native_calls = await self._turn(i, item, prompt, params)
            calls = from_openai(native_calls) if native_calls else from_text(text)
            if not calls:
                messages.append({"role": "assistant", "content": text})
                prompt.append({"role": "assistant", "content": text})  # the history a follow-up is asked on
                return text
            if step == self.options.max_steps:
                ctx.reject(order_key(i), "call", "too_many_steps", item, raw=text)
                raise _Rejected
            calls = [c.model_copy(update={"id": f"call_{len(steps)}_{k}"}) for k, c in enumerate(calls)]
            item["calls"] = sum(len(s) for s in steps) + len(calls)  # a rejection says how far the calls got
            for call in calls:
                problem = check_format(call, by_name)
                if problem:
                    ctx.reject(order_key(i), "format", problem[0], item, raw=text, detail=problem[1])
                    raise _Rejected
            results = []
            for call in calls:
                content, was_simulated = await self._result(i, item, call, by_name[call.name])
                convo.simulated |= was_simulated
                results.append({"name": call.name, "content": content, "id": call.id})
            steps.append(calls)
            messages.append({"role": "assistant", "content": "", "tool_calls": [c.openai() for c in calls]})
            messages += [{"role": "tool", "tool_call_id": r["id"], "name": r["name"], "content": r["content"]}
                         for r in results]
            if native:  # the API's own form: the calls, then one `tool` message per result
                # content "" rather than null: llama-cpp-python's server refuses null, and its function-calling
                # template needs the key
                prompt.append({"role": "assistant", "content": text,
                               "tool_calls": native_calls or [c.openai() for c in calls]})
                prompt += [{"role": "tool", "tool_call_id": call.id if not native_calls else native_calls[k]["id"],
                            "content": r["content"]} for k, (call, r) in enumerate(zip(calls, results, strict=True))]
            else:
                prompt.append({"role": "assistant", "content": text})
                prompt.append({"role": "user", "content": render("tool_use/tool_response.j2", results=results)})
        raise AssertionError("unreachable: the last step answers or rejects")

    async def _turn(self, i: int, item: dict[str, Any], prompt: list[dict[str, Any]], params: GenerationParams
                    ) -> tuple[str, list[dict[str, Any]] | None]:
        """One calling turn: the reply's text and its native tool calls (None without); a failed call, a cut-off
        reply or one with neither text nor calls ends the example."""
        ctx = self.ctx
        reply = await ctx.call(order_key(i), "call", item, ctx.teacher.complete(prompt, params))
        if reply is None:
            raise _Rejected
        choice = reply.choices[0]
        if choice.finish_reason == "length" or not (choice.text.strip() or choice.tool_calls):
            ctx.reject(order_key(i), "call", "truncated" if choice.finish_reason == "length" else "empty", item,
                       raw=choice.text)
            raise _Rejected
        return choice.text.strip(), choice.tool_calls

    async def _result(self, i: int, item: dict[str, Any], call: ToolCall, tool: Tool) -> tuple[str, bool]:
        """The call's result as JSON text: the user's function run (execution stage), or simulated by the teacher."""
        if tool.function is not None:
            done = await asyncio.to_thread(execute, call, tool, self.options.call_timeout)
            if done.result is None:
                self.ctx.reject(order_key(i), "execution", done.reason or "call_failed", item, detail=done.detail)
                raise _Rejected
            return done.result, False
        prompt = [{"role": "user", "content": render(
            "tool_use/simulate.j2", tool=json.dumps(tool.openai()["function"], ensure_ascii=False),
            arguments=json.dumps(call.arguments, ensure_ascii=False, sort_keys=True))}]
        text = await self._ask(i, "simulate", item, prompt, self._params(self.options.simulate))
        value = _json_value(text)
        if value is None:
            self.ctx.reject(order_key(i), "simulate", "simulation_unreadable", item, raw=text)
            raise _Rejected
        return json.dumps(value[0], ensure_ascii=False, sort_keys=True), True

    async def _semantics(self, i: int, item: dict[str, Any], tools: list[Tool], messages: list[dict[str, Any]],
                         answer: str) -> None:
        ctx = self.ctx
        judge = ctx.judge or ctx.teacher
        calls = [{"call": m["tool_calls"]} if m.get("tool_calls") else {"result": m["content"]} if m["role"] == "tool"
                 else {m["role"]: m["content"]} for m in messages[1:-1]]  # a follow-up: "user", then "assistant"
        prompt = [{"role": "user", "content": render(
            "tool_use/semantics.j2", query=item["query"], answer=answer, followups=self.options.followups > 0,
            tools=json.dumps([t.openai()["function"] for t in tools], ensure_ascii=False),
            calls=json.dumps(calls, ensure_ascii=False))}]
        params = judge.params(**self.options.judge.model_dump(exclude_none=True)).merged(n=1)
        reply = await ctx.call(order_key(i), "semantics", item, judge.complete(prompt, params))
        if reply is None:
            raise _Rejected
        choice = reply.choices[0]
        with ctx.reading(order_key(i), "semantics", item, choice.text) as read:
            right = read_verdict(choice.text, choice.finish_reason)
        if read.stopped:
            raise _Rejected
        if not right:
            ctx.reject(order_key(i), "semantics", "judged_wrong", item, raw=choice.text)
            raise _Rejected


def _json_value(text: str) -> tuple[Any] | None:
    """The JSON value a reply holds (bare or in a fenced block), in a 1-tuple (None is a JSON value too)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    return decode_json_prefix(body.strip())  # a chatty remark after the value is left out
