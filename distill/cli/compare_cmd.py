"""`distill compare RUN_A RUN_B [...]`: runs side by side in one page (compare.html, compare.json). With `--train
--student MODEL --on HELDOUT`, the same student is also fine-tuned on each of two runs with the same budget,
both checkpoints and the base student are measured on the held-out questions, and the page, OUT/train_compare.json
and each run's card say which data helped more, with the interval and a paired test (distill/eval/)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    from distill.cli.eval_cmd import add_measure_flags
    from distill.cli.train_cmd import add_training_flags

    p = sub.add_parser(
        "compare", help="put runs side by side (two teachers, two temperatures, before and after a filter)",
        description="Build each run's report figures and write OUT/compare.html (a table of every run's "
                    "figures and overlaid distributions) and OUT/compare.json. With --train: fine-tune the same "
                    "student on each of two runs with the same budget of examples (or --tokens), evaluate both "
                    "and the base student on --on HELDOUT, and report which data helped more (95% intervals, "
                    "exact McNemar test) on the page, in OUT/train_compare.json and in each run's card.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  distill compare outputs/t07 outputs/t10 --reference real.jsonl --out compare-temps\n"
               "  distill compare outputs/gated outputs/ungated --train --on held.jsonl --verifier math "
               "--max-steps 40 --embeddings none")
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="finished run folders (two or more)")
    p.add_argument("--out", type=Path, default=Path("compare"), help="output folder (default ./compare)")
    p.add_argument("--reference", help="real data for every run: a JSONL file, a run folder or a dataset")
    p.add_argument("--embeddings", default="default", metavar="MODEL",
                   help="default | a sentence-transformers folder | openai:MODEL@BASE_URL | none")
    p.add_argument("--sample", type=int, default=20_000,
                   help="records sampled per run for the per-text figures (default 20000)")
    t = p.add_argument_group("does the data help? (--train)")
    t.add_argument("--train", action="store_true", help="train the student on each of two runs and measure both")
    t.add_argument("--student", help="a transformers model folder, a .gguf file or a model id (default: the "
                                     "embedded SmolLM2-135M-Instruct)")
    t.add_argument("--on", dest="heldout", metavar="HELDOUT", help="the held-out JSONL file (with --train)")
    t.add_argument("--examples", type=int, help="examples per run (default: as many as the smaller run has)")
    t.add_argument("--tokens", type=int, help="a budget of tokens per run instead (the student's tokenizer)")
    add_training_flags(t)
    add_measure_flags(t)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from distill.errors import InputError
    from distill.report.build import Options
    from distill.report.compare import write

    if len(args.runs) < 2:
        raise InputError("compare: give at least two run folders")
    training = _train(args) if args.train else None
    opts = Options(reference=args.reference, embeddings=args.embeddings != "none", embedding_model=args.embeddings,
                   sample=max(10, args.sample))
    data = write(args.runs, args.out, opts, training=training)
    print(f"wrote {args.out / 'compare.html'} and compare.json ({len(data['runs'])} runs)")
    for row in data["table"]:
        print(f"  {row['figure']:<32}" + "".join(f"{row[r['name']]!s:>18}" for r in data["runs"]))
    return 0


def _settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from distill.cli.eval_cmd import settings as eval_settings
    from distill.cli.train_cmd import options, student
    from distill.errors import InputError
    from distill.eval.train_compare import CompareTrainSettings

    if len(args.runs) != 2:
        raise InputError("compare --train: give exactly two run folders")
    if not args.heldout:
        raise InputError("compare --train: name the held-out questions with --on HELDOUT")
    if args.examples is not None and args.tokens is not None:
        raise InputError("compare --train: give --examples or --tokens, not both")
    try:
        return CompareTrainSettings(student=student(args.student), examples=args.examples, tokens=args.tokens,
                                    train=options(args), seed=args.seed, eval=eval_settings(args))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None


def _train(args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    from distill.eval.recording import record
    from distill.eval.train_compare import compare_trained
    from distill.publish.card_eval import paired_line, plain

    settings = _settings(args)
    if settings.eval.judge and args.baseline:
        from distill.errors import InputError

        raise InputError("compare --train: the judge compares each student with the base student; drop --baseline")
    summary = asyncio.run(compare_trained(args.runs, settings, args.out, Path.cwd()))
    for label, t in summary["train"].items():
        how = "reused" if t["reused"] else f"{t['steps']} steps, {t['seconds']} s"
        print(f"train: {label}: {summary['budget']['examples'][label]} examples, {how}, loss {t['first_loss']} -> "
              f"{t['last_loss']}")
    for line in plain(summary["evaluation"]):
        print(line)
    print(f"paired: {paired_line(summary['paired'])}")
    print(f"verdict: {summary['verdict']}")
    stem = Path(settings.eval.heldout).stem
    for run, label, other in zip(args.runs, summary["labels"], reversed(summary["labels"]), strict=True):
        if (run / "manifest.json").is_file():
            record(run, f"compare-{other}-{stem}", {**summary["evaluation"], "paired": summary["paired"],
                                                    "trained": label, "verdict": summary["verdict"]})
    print(f"wrote {args.out / 'train_compare.json'}")
    return summary  # type: ignore[no-any-return]
