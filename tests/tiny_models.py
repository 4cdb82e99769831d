"""Tiny transformers models built offline in the test session: a byte-level BPE tokenizer trained here, a
2-layer Llama causal LM and Llama reward models (random weights), saved with save_pretrained and loaded back by
path exactly as a user's model would be."""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIALS = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]


def build_tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [f"Question {i}: what is {i} plus {i + 1}? The answer is {2 * i + 1}." for i in range(200)]
    corpus += ["A short reply about the sky, the sea, bread and trains."] * 20
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def _llama_config(tok, positions: int = 256, **extra):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=positions,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id, **extra)


def build_causal_lm(folder: Path, positions: int = 256) -> Path:
    """`positions`: the longest sequence the model takes (tool-use records with their schemas run long)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    tok = build_tokenizer(folder)
    LlamaForCausalLM(_llama_config(tok, positions)).save_pretrained(folder)
    return folder


def build_reward_model(folder: Path, labels: list[str] | None = None) -> Path:
    import torch
    from transformers import LlamaForSequenceClassification

    torch.manual_seed(1)
    tok = build_tokenizer(folder)
    names = labels or ["reward"]
    cfg = _llama_config(tok, num_labels=len(names), id2label=dict(enumerate(names)),
                        label2id={n: i for i, n in enumerate(names)})
    LlamaForSequenceClassification(cfg).save_pretrained(folder)
    return folder
