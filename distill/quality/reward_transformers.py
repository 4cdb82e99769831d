"""A transformers sequence-classification reward model (Skywork-Reward, ArmoRM, OpenAssistant DeBERTa, ...),
scored in batches on a worker thread. Imports torch only when a run names one.

The conversation is rendered with the tokenizer's chat template when it has one; otherwise (e.g. DeBERTa reward
models trained on question/answer pairs) the prompt and response are passed as a text pair. One output logit
gives a `reward` score; several give one score per label name from the model config (`id2label`).
"""

from __future__ import annotations

from typing import Any

from distill.engine.batch_worker import BatchWorker
from distill.errors import InputError
from distill.providers.base import Message
from distill.providers.spec import ProviderSpec


class TransformersReward:
    def __init__(self, spec: ProviderSpec) -> None:
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

    def _encode(self, batch: list[list[Message]]) -> Any:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            texts = [tok.apply_chat_template(m, tokenize=False) for m in batch]
            return tok(texts, padding=True, truncation=True, return_tensors="pt", add_special_tokens=False)
        prompts = ["\n".join(t["content"] for t in m if t["role"] != "assistant") for m in batch]
        answers = [next((t["content"] for t in reversed(m) if t["role"] == "assistant"), "") for m in batch]
        return tok(prompts, answers, padding=True, truncation=True, return_tensors="pt")

    def _score_batch(self, batch: list[list[Message]]) -> list[dict[str, float]]:
        with self.torch.inference_mode():
            enc = {k: v.to(self.device) for k, v in self._encode(batch).items()}
            logits = self.model(**enc).logits.float().cpu().tolist()
        return [dict(zip(self.names, row)) for row in logits]

    async def score(self, messages: list[Message]) -> dict[str, float]:
        return await self.worker.submit(messages)  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.worker.close()
