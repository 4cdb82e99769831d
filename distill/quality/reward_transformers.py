"""A transformers sequence-classification reward model (Skywork-Reward, ArmoRM, OpenAssistant DeBERTa, ...),
scored in batches on a worker thread. Imports torch only when a run names one.

The conversation is rendered with the tokenizer's chat template when it has one; otherwise (e.g. DeBERTa reward
models trained on question/answer pairs) the prompt and response are passed as a text pair. One output logit
gives a `reward` score; several give one score per label name from the model config (`id2label`).

A conversation's score does not depend on which others share its batch: padding changes float32 results in the
last bits, so each conversation is padded to a length fixed by its own (its token count rounded up to a multiple
of `BUCKET`), and a batch runs as one forward pass per such length. The same config gives the same scores under
every executor and whatever order the conversations arrive in.
"""

from __future__ import annotations

from collections import defaultdict

from distill.errors import InputError
from distill.providers.base import Message
from distill.providers.batch_worker import BatchWorker
from distill.providers.options import TransformersSpec
from distill.providers.spec import ProviderSpec

BUCKET = 32  # tokens: padded lengths are multiples of this


class TransformersReward:
    def __init__(self, spec: ProviderSpec) -> None:
        if not isinstance(spec, TransformersSpec):
            raise InputError(f"reward: provider {spec.provider!r} cannot run a reward model in-process; "
                             "use provider: transformers")
        source = spec.path or spec.model
        if not source:
            raise InputError("reward: the transformers reward model needs `path:` (a folder) or `model:` (an id)")
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ModuleNotFoundError:
            raise InputError("reward: transformers reward models need pip install 'distill[transformers]'"
                             ) from None
        self.torch = torch
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source)
            self.model = AutoModelForSequenceClassification.from_pretrained(source)
        except OSError as exc:
            raise InputError(f"reward: cannot load {source!r}: {exc}") from None
        self.device = spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        labels = self.model.config.id2label or {}
        n = self.model.config.num_labels
        self.names = ["reward"] if n == 1 else [str(labels.get(i, f"label_{i}")) for i in range(n)]
        self.identity = {"kind": "reward-transformers", "source": str(source)}
        self.worker = BatchWorker(self._score_batch, spec.batch_size, name="distill-reward")

    def _texts(self, batch: list[list[Message]]) -> tuple[list[str], list[str] | None]:
        """What the tokenizer reads: the chat-template rendering, or a (prompt, response) text pair."""
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            return [str(tok.apply_chat_template(m, tokenize=False)) for m in batch], None
        prompts = ["\n".join(t["content"] for t in m if t["role"] != "assistant") for m in batch]
        answers = [next((t["content"] for t in reversed(m) if t["role"] == "assistant"), "") for m in batch]
        return prompts, answers

    def _score_batch(self, batch: list[list[Message]]) -> list[dict[str, float]]:
        tok = self.tokenizer
        first, second = self._texts(batch)
        special = second is not None  # a text pair gets the model's separators; a chat template has its own
        limit = tok.model_max_length if tok.model_max_length and tok.model_max_length < 10**9 else None
        sizes = tok(first, second, add_special_tokens=special, truncation=limit is not None)["input_ids"]
        groups: dict[int, list[int]] = defaultdict(list)
        for i, ids in enumerate(sizes):
            padded = -(-len(ids) // BUCKET) * BUCKET
            groups[min(padded, limit) if limit else padded].append(i)
        out: list[dict[str, float]] = [{} for _ in batch]
        with self.torch.inference_mode():
            for length, rows in groups.items():
                enc = tok([first[i] for i in rows], [second[i] for i in rows] if second is not None else None,
                          padding="max_length", max_length=length, truncation=True, return_tensors="pt",
                          add_special_tokens=special)
                logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits.float().cpu().tolist()
                for i, row in zip(rows, logits, strict=True):
                    out[i] = dict(zip(self.names, row, strict=True))
        return out

    async def score(self, messages: list[Message]) -> dict[str, float]:
        return await self.worker.submit(messages)  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.worker.close()
