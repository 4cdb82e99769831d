"""`distill train RUN_DIR`: fine-tune a student on a run's data (SFT on data.jsonl, DPO on pairs.jsonl) with the
training code self_improve uses (`distill/train/`), writing `model/`, `curve.json` and the `model.done` marker
into RUN_DIR/train-<method>/ (or --out). The same command again with the same data and settings does nothing;
one killed mid-way goes on from its last trainer checkpoint (every --save-steps steps). A training that fails
leaves nothing behind, not even an empty folder. Everything is checked before anything is loaded or written."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
OWN_FILES = {"model", "model.done", "model.done.tmp", "model.trainer", "curve.json", "curve.json.tmp"}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="fine-tune a student on a run's data (SFT or DPO, LoRA optional)",
                       description="Fine-tune a student with TRL on a run folder's records: SFT on data.jsonl, or "
                                   "DPO on pairs.jsonl (--method dpo). Writes the checkpoint (model/), its marker "
                                   "(model.done: the checkpoint's sha256, the data's sha256, the settings) and the "
                                   "loss per step (curve.json) into RUN_DIR/train-<method>/. Re-running with the "
                                   "same data and settings does nothing.",
                       epilog="examples:\n  distill train outputs/respond-demo --max-steps 20\n"
                              "  distill train outputs/pairs-demo --method dpo --lora --student ./my-model",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--student", help="a transformers model folder, a .gguf file or a model id (default: the "
                                     "embedded SmolLM2-135M-Instruct)")
    p.add_argument("--method", choices=["sft", "dpo"], default="sft", help="sft (data.jsonl) or dpo (pairs.jsonl)")
    p.add_argument("--out", type=Path, help="where model/, model.done and curve.json go "
                                            "(default RUN_DIR/train-<method>)")
    add_training_flags(p)
    p.set_defaults(handler=handle)


def add_training_flags(p: Any) -> None:
    """The training knobs, shared with `distill compare --train`."""
    p.add_argument("--lora", action="store_true", help="train LoRA adapters (needs peft), merged into the checkpoint")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=512, help="tokens per example (default 512)")
    p.add_argument("--beta", type=float, default=0.1, help="DPO's beta")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--save-steps", type=int, default=50, help="a resumable checkpoint every N steps (default 50): "
                                                              "the same command after a kill goes on from it")


def options(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from distill.errors import InputError
    from distill.train.options import LoraOptions, TrainOptions

    try:
        return TrainOptions(method=getattr(args, "method", "sft"), epochs=args.epochs, max_steps=args.max_steps,
                            lr=args.lr, batch_size=args.batch_size, max_length=args.max_length, beta=args.beta,
                            lora=LoraOptions() if args.lora else None, threads=args.threads,
                            save_steps=args.save_steps)
    except ValidationError as exc:
        first = exc.errors()[0]
        flag = "--" + str(first["loc"][0]).replace("_", "-")
        raise InputError(f"{flag}: {first['msg']}") from None


def student(name: str | None) -> str:
    """The student's source, refused (exit 2) when it names a local path that is not a model."""
    from distill.errors import InputError

    if name is None:
        from distill.providers.local import packaged_gguf

        return str(packaged_gguf())
    path = Path(name)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError(f"--student {name}: not a transformers model folder (no config.json)")
    elif path.is_file():
        if path.suffix != ".gguf":
            raise InputError(f"--student {name}: a file must be a .gguf model; else give a model folder")
    elif not HUB_ID.fullmatch(name):
        raise InputError(f"--student {name}: no such model folder or .gguf file")
    return name


def check_out(out: Path) -> None:
    """Write only into a new or empty folder, or one holding an earlier `distill train` checkpoint."""
    from distill.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder")
    others = sorted(p.name for p in out.iterdir() if p.name not in OWN_FILES) if out.is_dir() else []
    if others:
        raise InputError(f"--out {out} holds files distill train did not write ({', '.join(others[:3])}); give a "
                         "new or empty folder")


def handle(args: argparse.Namespace) -> int:
    import sys

    from distill.train.checkpoint import curve_path, train_checkpoint
    from distill.train.run_data import read_run

    opts = options(args)
    data = read_run(args.run_dir, opts.method)
    source = student(args.student)
    out = args.out or args.run_dir / f"train-{opts.method}"
    check_out(out)
    model = out / "model"
    print(f"train: {opts.method}{' (LoRA)' if opts.lora else ''} on {len(data.examples)} examples from "
          f"{data.file} (sha256 {data.file_sha256[:12]}), student {source}", file=sys.stderr, flush=True)
    done = train_checkpoint(source, data.examples, opts, model, args.seed, data.about())
    report = done["train"]
    if done["reused"]:
        print(f"train: {model} is already trained on this data with these settings (sha256 {done['sha256'][:12]});"
              " nothing to do")
        return 0
    if report.get("resumed_from_step"):
        print(f"train: resumed from step {report['resumed_from_step']} (the checkpoint a stopped training left)")
    print(f"train: {report['steps']} steps, loss {report['first_loss']} -> {report['last_loss']}, "
          f"{report['seconds']} s; checkpoint {model} (sha256 {done['sha256'][:12]}), curve {curve_path(model)}")
    return 0
