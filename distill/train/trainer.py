"""One round of fine-tuning with TRL: load the student from a folder or a `.gguf` file, train on conversational
examples (SFT: prompt + completion, loss on the completion only; DPO: prompt + chosen + rejected), and save a
plain transformers model (LoRA adapters merged) with its tokenizer. Every heavy import happens in here.

DPO compares the policy with a frozen reference. TRL would rebuild that reference from the path in the model's
config, which for a dequantized GGUF is the folder holding the `.gguf` file (not a transformers model), so the
reference is always handed over here: a copy of the loaded student (with LoRA, TRL disables the adapters
instead, and no copy is made)."""

from __future__ import annotations

import copy
import time
import warnings
from pathlib import Path
from typing import Any

from distill.errors import InputError
from distill.train.options import TrainOptions

CURVE_KEYS = ("step", "epoch", "loss", "learning_rate", "grad_norm")  # and DPO's rewards/* columns


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
        raise InputError("LoRA training needs peft: pip install 'distill[train]'") from None
    lora = options.lora
    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules, task_type="CAUSAL_LM")


def _common_args(options: TrainOptions, scratch: Path, seed: int) -> dict[str, Any]:
    return {"output_dir": str(scratch), "num_train_epochs": options.epochs, "max_steps": options.max_steps or -1,
            "learning_rate": options.lr, "per_device_train_batch_size": options.batch_size,
            "gradient_accumulation_steps": options.grad_accum, "max_length": options.max_length, "seed": seed,
            "data_seed": seed, "report_to": "none", "save_strategy": "steps", "save_steps": options.save_steps,
            "save_total_limit": 1, "logging_steps": 1,
            "disable_tqdm": True, "use_cpu": True, "bf16": False, "fp16": False, "dataloader_num_workers": 0,
            "lr_scheduler_type": "linear", "warmup_steps": 0}


def _trainer(model: Any, tokenizer: Any, data: Any, options: TrainOptions, scratch: Path, seed: int) -> Any:
    peft = _peft_config(options)
    if options.method == "sft":
        from trl import SFTConfig, SFTTrainer

        args: Any = SFTConfig(**_common_args(options, scratch, seed), completion_only_loss=True)
        return SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=peft)
    from trl import DPOConfig, DPOTrainer

    reference = None if peft is not None else copy.deepcopy(model).eval()
    args = DPOConfig(**_common_args(options, scratch, seed), beta=options.beta)
    return DPOTrainer(model=model, ref_model=reference, args=args, train_dataset=data, processing_class=tokenizer,
                      peft_config=peft)


def curve_of(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The training curve: one entry per logged optimizer step (loss, learning rate, DPO's reward columns)."""
    return [{k: v for k, v in entry.items() if k in CURVE_KEYS or k.startswith("rewards/")}
            for entry in log_history if "loss" in entry]


def fit(model: Any, tokenizer: Any, examples: list[dict[str, Any]], options: TrainOptions, out: Path,
        seed: int, resume: Path | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Train the loaded student on `examples` and save it into `out`, going on from the trainer checkpoint
    `resume` when given (its steps are not trained again). Returns what happened (steps, losses, seconds,
    the step it resumed from) and the curve (`curve_of`)."""
    import datasets
    import torch
    import transformers
    from datasets import Dataset
    from transformers import PrinterCallback

    started = time.monotonic()
    datasets.disable_progress_bars()  # the caller's own lines say what happens; TRL's would interleave
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # "Writing model shards" on save
    if options.threads:
        torch.set_num_threads(options.threads)
    torch.manual_seed(seed)
    scratch = out.parent / (out.name + ".trainer")
    with warnings.catch_warnings():  # transformers 5 renames TRL's arguments: FutureWarnings the user cannot act on
        warnings.simplefilter("ignore", FutureWarning)
        trainer = _trainer(model, tokenizer, Dataset.from_list(examples), options, scratch, seed)
        trainer.remove_callback(PrinterCallback)  # losses go to the curve and the marker, not to stdout
        if len(trainer.train_dataset) == 0:
            from distill.train.failure import TrainingFailed

            raise TrainingFailed(f"training ({options.method}): none of the {len(examples)} examples fits in "
                                 f"max_length {options.max_length} tokens (TRL drops those whose prompt alone "
                                 "fills it); raise max_length. No checkpoint was saved.")
        result = trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
    trained = trainer.model
    if options.lora is not None:
        trained = trained.merge_and_unload()
    trained.save_pretrained(out)
    tokenizer.save_pretrained(out)
    curve = curve_of(trainer.state.log_history)
    losses = [round(float(e["loss"]), 4) for e in curve]
    report = {"method": options.method, "examples": len(examples), "steps": int(result.global_step),
              "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
              "train_loss": round(float(result.training_loss), 4), "seconds": round(time.monotonic() - started, 1),
              "lora": options.lora is not None}
    if resume is not None:
        report["resumed_from_step"] = int(resume.name.rpartition("-")[2])
    return report, curve
