"""The Done-when item of issue #31: a reasoning run exported in each reasoning format (think_inline,
reasoning_content, thinking) is loaded by TRL's SFTTrainer with a reasoning chat template
(tests/reasoning_chat_template.jinja, the Qwen3 / DeepSeek-R1 form) on a tiny model, a few training steps run, and
the thinking tokens are inside the trained span (assistant_only_loss: the labels not masked to -100)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import distill
from reasoning_server import ReasoningServer, run_reasoning

TEMPLATE = Path(__file__).resolve().parents[1] / "reasoning_chat_template.jinja"
QUESTION = "Which is larger, 2^30 or 10^9?"
THINKING = "2^10 = 1024 > 1000, so 2^30 = 1024^3 > 1000^3 = 10^9."
ANSWER = "2^30 is larger."
SAMPLES = [{"reasoning_content": THINKING, "content": ANSWER},  # the server's reasoning field
           {"content": f"<think>{THINKING} Checked twice.</think>\n\n{ANSWER}"}]  # an inline block


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reasoning_trl")
    with ReasoningServer(rules=[{"match": "Which is larger", "samples": SAMPLES}]) as server:
        res = run_reasoning(tmp, server.url, [{"question": QUESTION}], samples=2)
    assert res.returncode == 0, res.stderr
    return tmp / "run"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from tiny_models import build_causal_lm

    return build_causal_lm(tmp_path_factory.mktemp("tiny"))


def _trained_text(trainer, tokenizer) -> list[str]:
    """The text of each example's tokens the loss is computed on (labels not -100), from the trainer's own
    dataloader: what training sees."""
    batch = next(iter(trainer.get_train_dataloader()))
    texts = []
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
        texts.append(tokenizer.decode([i for i, lab in zip(ids, labels, strict=True) if lab != -100]))
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["think_inline", "reasoning_content", "thinking"])
def test_sft_trainer_trains_on_the_thinking(tmp_path, run_dir, model_dir, fmt):
    pytest.importorskip("trl")
    import datasets
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    target = tmp_path / f"{fmt}.parquet"
    res = distill("export", str(run_dir), "--format", fmt, "--to", str(target))
    assert res.returncode == 0, res.stderr
    ds = datasets.load_dataset("parquet", data_files=str(target), split="train")
    assert len(ds) == 2
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.chat_template = TEMPLATE.read_text(encoding="utf-8")
    # the three formats render the same conversation: thinking in <think> at the head of the assistant turn
    rendered = tokenizer.apply_chat_template(list(ds[0]["messages"]), tokenize=False)
    assert rendered == f"<|user|>{QUESTION}</s><|assistant|><think>\n{THINKING}\n</think>\n\n{ANSWER}</s>"

    args = SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=3, per_device_train_batch_size=2,
                     logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, max_length=256,
                     assistant_only_loss=True, shuffle_dataset=False, dataloader_drop_last=False)
    trainer = SFTTrainer(model=str(model_dir), args=args, train_dataset=ds, processing_class=tokenizer)
    trained = sorted(_trained_text(trainer, tokenizer))
    assert trained == sorted([f"<think>\n{THINKING}\n</think>\n\n{ANSWER}</s>",
                              f"<think>\n{THINKING} Checked twice.\n</think>\n\n{ANSWER}</s>"])
    assert all(QUESTION not in text for text in trained)  # the prompt stays outside the loss
    result = trainer.train()
    assert result.global_step == 3
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 3 and all(0 < loss < 100 for loss in losses)
