"""What one teacher endpoint turned out to accept: which form of structured output, and whether it honours `n`.

Recipes always ask for structured output the same way (a json_schema `response_format`). Servers differ, so the
first refusal of that shape (`providers/openai_refusals.py`) moves the endpoint one step down this ladder, for
the rest of the run and for later runs of the same folder (the finding is kept in the cache):

    json_schema  -> json_object with the schema (llama-cpp-python builds a grammar from it; others ignore it)
                 -> guided_json (older vLLM)
                 -> text: no constraint; the prompt's own instructions and the tolerant reply reader

`structured_output:` in the teacher's YAML fixes the form (no detection); `supports_json_schema: false` is
`structured_output: text`. A server that returns fewer choices than `n` asked for, or refuses `n`, is marked as
lacking `n` (`supports_n: false` says so up front): the missing samples are sent as single calls.

Native tool calling is found by a probe when a recipe asks for it (`Teacher.tool_calling`, the tool_use recipe's
`calling: auto`): one request offering a single tool and asking for it to be called. A reply with that call means
"native"; a refusal of `tools` or a reply without a call (the server dropped the parameter) means "text". The
finding is kept with the rest, so a later run asks nothing.

The cache key of a call is made from the request the recipe asked for, never from the shape it was sent in, so
a re-run finds every answer whatever the endpoint was found to accept.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from distill.providers.base import GenerationParams
from distill.providers.spec import ProviderSpec

LADDER = ("json_schema", "json_object", "guided_json", "text")


class ServerTraits:
    def __init__(self, spec: ProviderSpec, stored: dict[str, Any] | None = None, has_n: bool = True) -> None:
        """`has_n`: the provider class's own capability (a plugin may declare it lacks `n`)."""
        stored = stored or {}
        fixed = spec.fixed_structured_output()  # the openai provider's `structured_output:` / `supports_json_schema:`
        self.fixed = fixed is not None
        if fixed is not None:
            self.json_mode = fixed
        else:
            mode = stored.get("structured_output")
            self.json_mode = mode if isinstance(mode, str) and mode in LADDER else "json_schema"
        self.supports_n: bool | None = False if not (spec.allows_n() and has_n) else stored.get("supports_n")
        self.refusals: dict[str, str] = dict(stored.get("refusals", {}))  # what each step down was a reply to
        calling = stored.get("tool_calling")  # "native" / "text" once probed (Teacher.tool_calling), else None
        self.tool_calling: str | None = calling if calling in ("native", "text") else None

    # --- the shape a request is sent in --------------------------------------------------------------------
    def shape(self, params: GenerationParams) -> GenerationParams:
        """`params` with a json_schema response_format rewritten to the form this endpoint accepts."""
        fmt = params.response_format
        if not fmt or fmt.get("type") != "json_schema" or self.json_mode == "json_schema":
            return params
        schema = (fmt.get("json_schema") or {}).get("schema", {})
        data = params.model_dump(exclude_none=True)
        data.pop("response_format")
        if self.json_mode == "json_object":
            data["response_format"] = {"type": "json_object", "schema": schema}
        elif self.json_mode == "guided_json":
            data["extra_body"] = {**(params.extra_body or {}), "guided_json": schema}
        return GenerationParams(**data)

    def mode_of(self, sent: GenerationParams) -> str:
        fmt = sent.response_format
        if fmt:
            return str(fmt.get("type"))
        return "guided_json" if sent.extra_body and "guided_json" in sent.extra_body else "text"

    # --- learning from refusals ---------------------------------------------------------------------------
    def step_down(self, sent: GenerationParams, why: str) -> bool:
        """The endpoint refused the structured-output form `sent` used: move below it. False when there is
        nothing left to try (or the form was fixed by the config), so the refusal stands."""
        used = self.mode_of(sent)
        if self.fixed or used == "text" or used not in LADDER:
            return False
        if LADDER.index(self.json_mode) <= LADDER.index(used):  # concurrent refusals step down once
            self.json_mode = LADDER[LADDER.index(used) + 1]
            self.refusals[used] = why[:300]
        return True

    def lacks_n(self, why: str) -> None:
        if self.supports_n is not False:
            self.supports_n = False
            self.refusals["n"] = why[:300]

    def found_tool_calling(self, mode: str, why: str) -> None:
        """The probe's finding: "native" (the endpoint answers `tools` with tool calls of its own) or "text" (it
        refused or ignored them: tools are described in the prompt and calls read from the reply)."""
        self.tool_calling = mode
        if mode == "text":
            self.refusals["tools"] = why[:300]

    def report(self) -> dict[str, Any]:
        """For the manifest and for the cache (later runs start from what this one found)."""
        return {"structured_output": self.json_mode, "supports_n": self.supports_n,
                "detected": not self.fixed, "refusals": dict(self.refusals),
                **({"tool_calling": self.tool_calling} if self.tool_calling else {})}


def traits_key(identity: dict[str, Any]) -> bytes:
    """Where an endpoint's traits are kept in the call cache (never a call's key: those hash other fields)."""
    return hashlib.sha256(b"distill:server-traits:" + orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).digest()
