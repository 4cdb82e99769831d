"""One round of fine-tuning with TRL: load the student from a folder or a `.gguf` file, train on conversational
examples (SFT: prompt + completion, loss on the completion only; DPO: prompt + chosen + rejected), and save a
plain transformers model (LoRA adapters merged) with its tokenizer. Every heavy import happens in here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from distill.errors import InputError
from distill.train.options import TrainOptions


def load_student(source: str) -> tuple[Any, Any]:
    """The model and tokenizer at `source`: a model folder, or a `.gguf` file (dequantized by transformers)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, kwargs = source, {}
    if source.endswith(".gguf"):
        folder, kwargs = str(Path(source).parent), {"gguf_file": Path(source).name}
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        model: Any = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except (OSError, ValueError) as exc:
        raise InputError(f"train: cannot load the student {source!r}: {exc}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if "gguf_file" in kwargs:  # dequantized to float weights on load: a plain model to train and to save
        model.hf_quantizer = None
        if getattr(model, "is_quantized", False):
            model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    return model, tokenizer


def _peft_config(options: TrainOptions) -> Any:
    if options.lora is None:
        return None
    try:
        from peft import LoraConfig
    except ModuleNotFoundError:
        raise InputError("options.train.lora needs peft: pip install 'distill[train]'") from None
    lora = options.lora
    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules, task_type="CAUSAL_LM")


def _common_args(options: TrainOptions, scratch: Path, seed: int) -> dict[str, Any]:
    return {"output_dir": str(scratch), "num_train_epochs": options.epochs, "learning_rate": options.lr,
            "per_device_train_batch_size": options.batch_size, "gradient_accumulation_steps": options.grad_accum,
            "max_length": options.max_length, "seed": seed, "data_seed": seed, "report_to": "none",
            "save_strategy": "no", "logging_steps": 1, "disable_tqdm": True, "use_cpu": True,
            "bf16": False, "fp16": False, "dataloader_num_workers": 0, "lr_scheduler_type": "linear",
            "warmup_steps": 0}


def fit(source: str, examples: list[dict[str, Any]], options: TrainOptions, out: Path, seed: int) -> dict[str, Any]:
    """Train on `examples` and save the model into `out`. Returns what happened (steps, losses, seconds)."""
    import datasets
    import torch
    import transformers
    from datasets import Dataset

    started = time.monotonic()
    datasets.disable_progress_bars()  # the run's own progress line says what happens; TRL's would interleave
    transformers.logging.set_verbosity_error()
    if options.threads:
        torch.set_num_threads(options.threads)
    torch.manual_seed(seed)
    model, tokenizer = load_student(source)
    data = Dataset.from_list(examples)
    scratch = out.parent / (out.name + ".trainer")
    peft = _peft_config(options)
    if options.method == "sft":
        from trl import SFTConfig, SFTTrainer

        args: Any = SFTConfig(**_common_args(options, scratch, seed), completion_only_loss=True)
        trainer: Any = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                                  peft_config=peft)
    else:
        from trl import DPOConfig, DPOTrainer

        args = DPOConfig(**_common_args(options, scratch, seed), beta=options.beta)
        trainer = DPOTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                             peft_config=peft)
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # losses go to the manifest, not to stdout
    result = trainer.train()
    trained = trainer.model
    if peft is not None:
        trained = trained.merge_and_unload()
    trained.save_pretrained(out)
    tokenizer.save_pretrained(out)
    losses = [round(float(e["loss"]), 4) for e in trainer.state.log_history if "loss" in e]
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    return {"method": options.method, "examples": len(examples), "steps": int(result.global_step),
            "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
            "train_loss": round(float(result.training_loss), 4), "seconds": round(time.monotonic() - started, 1),
            "lora": options.lora is not None}
