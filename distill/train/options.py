"""How a student is trained (`train:` of a self-improvement recipe, `distill train`'s flags): which trainer, and
its few knobs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoraOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    r: int = Field(16, ge=1, le=1024)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | str = Field("all-linear", description="peft's target_modules")


class TrainOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["sft", "dpo"] = Field("sft", description="TRL's SFTTrainer on kept answers, or DPOTrainer on "
                                                             "chosen/rejected pairs")
    epochs: float = Field(1.0, gt=0, le=100)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps (default: the "
                                                          "epochs decide)")
    lr: float = Field(1e-5, gt=0, le=1)
    batch_size: int = Field(4, ge=1, le=4096)
    grad_accum: int = Field(1, ge=1, le=1024)
    beta: float = Field(0.1, gt=0, description="DPO's beta")
    max_length: int = Field(512, ge=16, description="tokens per training example (longer ones are truncated)")
    lora: LoraOptions | None = Field(None, description="train LoRA adapters (needs peft) and merge them into the "
                                                       "checkpoint, instead of every weight")
    threads: int | None = Field(None, ge=1, description="torch threads while training (default: torch's)")
    save_steps: int = Field(50, ge=1, description="a resumable checkpoint (weights, optimizer, RNG) every this many "
                                                  "steps: a killed training goes on from the last one")
