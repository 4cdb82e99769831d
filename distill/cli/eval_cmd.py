"""`distill eval MODEL... --on HELDOUT`: every model answers the held-out questions (greedy, cached in
OUT/cache.sqlite: the same command again makes no call) and is measured as the data allows — a verifier's pass
rate, the IFEval-style format constraints its rows name, a judge's win rate against a baseline in both orders —
each figure with its 95% Wilson interval. Writes OUT/eval.json (default evals/<held-out file's name>), and for
a model trained on a run (`distill train RUN` -> RUN/train-sft) RUN/evaluations/eval-<held-out>.json, shown in
the run's card."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "eval", help="measure models on held-out questions (pass rate, format constraints, win rate)",
        description="Answer the held-out questions with each MODEL and measure the answers: a verifier's pass rate "
                    "(--verifier), the format constraints the rows name (a `constraints` column), a judge's win "
                    "rate against --baseline (--judge), every figure with its 95% interval. Answers are cached "
                    "in OUT/cache.sqlite, so the same command again makes no call. MODEL: a model folder, a "
                    "`distill train` output (RUN/train-sft), a .gguf file, `local` (the embedded SmolLM2), "
                    "transformers:PATH, openai:MODEL or openai:MODEL@http://host:port/v1.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  distill eval outputs/math/train-sft transformers:HuggingFaceTB/SmolLM2-135M-Instruct "
               "--on held.jsonl --verifier math\n"
               "  distill eval openai:my-model@http://127.0.0.1:8000/v1 --on if.jsonl\n"
               "  distill eval outputs/respond/train-sft --on held.jsonl --judge openai:gpt-4o-mini "
               "--baseline local")
    p.add_argument("models", nargs="+", metavar="MODEL")
    p.add_argument("--on", dest="heldout", required=True, metavar="HELDOUT", help="the held-out JSONL file")
    p.add_argument("--out", type=Path, help="where eval.json and the answers' cache go "
                                            "(default evals/<HELDOUT's name>)")
    add_measure_flags(p)
    p.set_defaults(handler=handle)


def add_measure_flags(p: Any) -> None:
    """How answers are measured and asked for, shared with `distill compare --train`."""
    p.add_argument("--verifier", choices=["math", "exact", "regex", "function"], help="check each answer")
    p.add_argument("--pattern", help="--verifier regex: the pattern ({reference} stands for the reference)")
    p.add_argument("--function", help="--verifier function: module:attr or file.py:attr")
    p.add_argument("--judge", metavar="MODEL", help="the judge of a win rate against --baseline")
    p.add_argument("--baseline", metavar="MODEL", help="the model every MODEL is judged against")
    p.add_argument("--field", default="instruction", help="the column holding the question (default instruction)")
    p.add_argument("--input-field", default="input", help="an optional column appended to the question")
    p.add_argument("--answer-field", default="answer", help="the reference answer's column (default answer)")
    p.add_argument("--limit", type=int, help="use the first N held-out rows")
    p.add_argument("--max-tokens", type=int, default=256, help="tokens per answer (default 256)")


def settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from distill.errors import InputError
    from distill.eval.options import EvalSettings
    from distill.eval.verifiers import VerifierOptions

    try:
        verifier = (VerifierOptions(kind=args.verifier, pattern=args.pattern, function=args.function)
                    if args.verifier else None)
        return EvalSettings(heldout=args.heldout, field=args.field, input_field=args.input_field or None,
                            answer_field=args.answer_field, limit=args.limit, max_tokens=args.max_tokens,
                            verifier=verifier, judge=args.judge, baseline=args.baseline)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "eval"
        raise InputError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


def handle(args: argparse.Namespace) -> int:
    import asyncio

    from distill.eval.evaluate import Evaluation
    from distill.eval.models import trained_run
    from distill.eval.recording import record
    from distill.publish.card_eval import plain

    opts = settings(args)
    out = args.out or Path("evals") / Path(args.heldout).stem
    evaluation = Evaluation(opts, out, Path.cwd())
    result = asyncio.run(evaluation.run(list(dict.fromkeys(args.models))))
    calls = result["calls"]
    requests = sum(c["requests"] for c in calls.values())
    hits = sum(c["cache_hits"] for c in calls.values())
    print(f"eval: {result['questions']} held-out questions from {args.heldout}; {requests} calls made, "
          f"{hits} answers from the cache ({out / 'cache.sqlite'})")
    for line in plain(result):
        print(line)
    print(f"wrote {out / 'eval.json'}")
    for name in result_models(result):
        run = trained_run(name)
        if run is not None:  # a student trained on a run: the run's card shows the evaluation
            path = record(run, f"eval-{Path(args.heldout).stem}", {**result, "trained": name})
            print(f"wrote {path} and {run / 'README.md'}")
    return 0


def result_models(result: dict[str, Any]) -> list[str]:
    return [m["model"] for m in result["models"]]
