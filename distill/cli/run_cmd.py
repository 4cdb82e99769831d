"""`distill run RECIPE.yaml`: run a recipe (or preview it with --dry-run)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from distill.overrides import add_override_flags, parse_sets

T = TypeVar("T")

# Any executor the registry knows (distill/plugins.py: `local`, `ray`, or a `distill.executors` plugin): the name is
# checked when the config is loaded, like the YAML's `executor:` (exit 2 naming the known ones), so that building
# the parser (`--help`) scans no installed package.
EXECUTOR_HELP = ("where calls run: local, ray, or an executor a plugin registers (`distill.executors` entry points); "
                 "overrides executor.kind")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="run a recipe and write a run folder",
        description="Run a recipe YAML. Re-running the same command resumes: answers already received are read "
                    "from the run folder's cache and never requested again.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  distill run recipes/respond.yaml --num 5\n"
               "  distill run recipes/respond.yaml --teacher openai:gpt-4o-mini\n"
               "  distill run recipes/respond.yaml --teacher openai:Qwen2.5-7B@http://127.0.0.1:8000/v1\n"
               "  distill run recipes/respond.yaml --temperature 0.2 --set teacher.max_concurrency=8\n"
               "  distill run recipes/respond.yaml --dry-run\n"
               "  distill run recipes/respond.yaml --max-cost 5   # stop before spending more than $5\n"
               "  distill run recipes/respond.yaml --target 500   # draw inputs until 500 records are accepted\n"
               "  distill run recipes/respond.yaml --dry-run --pilot 20 --target 500   # = distill estimate\n"
               "\n"
               "exit codes: 0 done; 1 the teacher failed, nothing was made, or --target was not reached (the records\n"
               "accepted are kept; the message and `distill show` say which);\n"
               "2 bad input (config, files, options); 3 the disk filled up; 4 the budget was reached (--max-cost,\n"
               "--max-tokens-total, `budget:`): every answer is kept, raise the budget and run the same command again\n"
               "to continue; 130 interrupted (Ctrl+C): run the same command again to resume.")
    p.add_argument("recipe", type=Path, help="recipe YAML file (see `distill recipes`)")
    p.add_argument("--teacher", help="override the teacher: local | openai:MODEL | openai:MODEL@BASE_URL")
    p.add_argument("--judge", help="override the judge model, same forms as --teacher")
    p.add_argument("--input", help="override input.path (a JSONL file or a datasets dataset)")
    p.add_argument("--field", help="override input.field: the column holding the instruction")
    p.add_argument("--num", type=int, help="how many to make: input rows for respond, math_qa, evol_instruct, "
                                            "knowledge_qa; new instructions for self_instruct and alpaca")
    p.add_argument("--target", type=int, metavar="N",
                   help="accepted records to end with: draw inputs (or make items) in rounds until N are accepted, "
                        "keep the first N in order (overrides `target:`; --num then caps the items drawn)")
    p.add_argument("--out", help="run folder (default outputs/<name>)")
    p.add_argument("--seed", type=int, help="random seed (default from the recipe, else 0)")
    p.add_argument("--executor", metavar="NAME", help=EXECUTOR_HELP)
    p.add_argument("--dry-run", action="store_true",
                   help="render the first prompts and estimate calls and tokens; call nobody, write nothing")
    p.add_argument("--pilot", type=int, metavar="K",
                   help="with --dry-run: run the first K items for real (cached, so the run reuses them) and predict "
                        "the cost and time of the run (as `distill estimate RECIPE --pilot K`)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished run in the folder that was made with other models (refused otherwise)")
    p.add_argument("--max-cost", type=float, metavar="USD",
                   help="stop before the run folder has spent more than USD dollars over all its runs, every role "
                        "counted (overrides budget.usd); exit 4 when reached, and a higher value continues the run")
    p.add_argument("--max-tokens-total", type=int, metavar="N",
                   help="likewise for prompt and completion tokens of every role (overrides budget.tokens)")
    p.add_argument("--no-progress", action="store_true", help="no live display and no periodic log lines")
    add_override_flags(p)
    p.add_argument("--no-report", action="store_true", help="do not write the data report (report.html) at the end")
    p.set_defaults(handler=handle)


def overrides(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"teacher": args.teacher, "judge": args.judge, "num": args.num, "out": args.out,
                           "seed": args.seed, "target": args.target}
    if args.input or args.field:
        given = data.get("input")
        current: dict[str, Any] = given if isinstance(given, dict) else {}
        out["input"] = {**current, **({"path": args.input} if args.input else {}),
                        **({"field": args.field} if args.field else {})}
    if args.executor:  # keeps the YAML's settings for any executor but local, which takes none
        given = data.get("executor") if args.executor != "local" else None
        out["executor"] = {**(given if isinstance(given, dict) else {}), "kind": args.executor}
    if args.no_report:
        out["report"] = False
    if args.max_cost is not None or args.max_tokens_total is not None:  # over the recipe's `budget:`, key by key
        given = data.get("budget")
        out["budget"] = {**(given if isinstance(given, dict) else {}),
                         **({"usd": args.max_cost} if args.max_cost is not None else {}),
                         **({"tokens": args.max_tokens_total} if args.max_tokens_total is not None else {})}
    return out


def handle(args: argparse.Namespace) -> int:
    from distill.config import load_config
    from distill.run.runner import execute
    from distill.yaml_source import YamlSource

    raw = YamlSource.load(args.recipe).data
    cfg, src = load_config(args.recipe, overrides(args, raw), parse_sets(args))
    if args.input:
        cfg.input.path = args.input  # type: ignore[union-attr]  # a CLI path is relative to the shell, not the YAML
    if args.pilot is not None and not args.dry_run:
        from distill.errors import InputError

        raise InputError("--pilot K goes with --dry-run (or use `distill estimate RECIPE --pilot K`)")
    if args.dry_run and args.pilot is not None:
        return run_pilot(args, cfg, src)
    if args.dry_run:
        from distill.run.dry_run import dry_run

        print(dry_run(cfg, src))
        return 0
    from distill.config import check_api_keys
    from distill.redact import redact_text

    check_api_keys(cfg, src)  # before the run folder is touched: nothing is written
    command = "distill run " + " ".join(map(redact_text, sys.argv[2:])) if sys.argv[1:2] == ["run"] else None
    result = stopped_or(lambda: execute(cfg, src, progress=False if args.no_progress else None, command=command,
                                        overwrite=args.overwrite))
    if isinstance(result, int):
        return result
    from distill.run.progress import summary_line

    print(summary_line(result.folder, result.counts, result.usage, result.manifest["wall_seconds"]))
    if result.removed_exports:
        print(f"removed {', '.join(result.removed_exports)}: exported from the records this run replaced; "
              f"run `distill export {result.folder}` again", file=sys.stderr)
    from distill.run.shortfall import made_nothing, shortfall_line

    short = shortfall_line(result.manifest)
    if short is not None:
        print(short, file=sys.stderr)
    from distill.run.target import target_line, target_summary

    missed = target_line(result.manifest)
    if made_nothing(result.manifest):
        if missed is not None:
            print(missed, file=sys.stderr)
        print(f"nothing was made; the run folder {result.folder} is kept with its rejections.", file=sys.stderr)
        return 1
    if missed is not None:  # exit 1 as well, but records were made: say so
        accepted = result.manifest["records_target"]["accepted"]
        print(f"{missed}.\nThe run finished short of its target, not empty: {result.folder / 'data.jsonl'} holds the "
              f"{accepted} record(s) accepted (exit 1 for the shortfall; `distill show {result.folder}` says so).",
              file=sys.stderr)
        return 1
    reached = target_summary(result.manifest)
    if reached is not None:
        print(reached)
    if cfg.push is not None:
        from distill.publish.push import push

        p = cfg.push
        pushed = push(result.folder, p.repo_id, private=p.private, config_name=p.config_name, split=p.split,
                      fmt=p.format, license=p.license)
        print(f"pushed {pushed.rows} rows to {pushed.url} (config {p.config_name}, split {p.split})")
    if result.counts["failed"] and not result.counts["data"] and not result.counts["rejected"]:
        print(f"every item failed ({result.counts['failed']}; see {result.folder / 'failed.jsonl'} for the "
              "errors); nothing was made. Fix the cause and run the same command again.", file=sys.stderr)
        return 1
    if result.counts["failed"]:
        print(f"{result.counts['failed']} item(s) failed after retries (see failed.jsonl); run the same command "
              "again to retry only those.", file=sys.stderr)
    return 0


def stopped_or(work: Callable[[], T]) -> T | int:
    """`work()`'s result, or the exit code of a run that stopped cleanly (Ctrl+C: 130; the budget reached: 4)
    after saying how to go on."""
    from distill.engine.budget import BudgetReached
    from distill.run.runner import Interrupted, interrupted_message

    try:
        return work()
    except Interrupted as exc:
        print(interrupted_message(exc.folder), file=sys.stderr)
        return 130
    except BudgetReached as exc:
        print(f"\n{exc.paragraph()}", file=sys.stderr)
        return exc.exit_code


def run_pilot(args: argparse.Namespace, cfg: Any, src: Any) -> int:
    """A pilot of K items and its prediction (run/pilot.py): `run --dry-run --pilot K` and `distill estimate`."""
    from distill.config import check_api_keys
    from distill.errors import InputError
    from distill.run.pilot import render
    from distill.run.runner import estimate, out_dir

    if args.pilot < 1:
        raise InputError(f"--pilot: give the number of items to run for real (1 or more), not {args.pilot}")
    if cfg.target is None and cfg.num is None and cfg.input is None:
        raise InputError(f"--pilot: give --target N (accepted records) or --num N (items) to predict for: how many "
                         f"items {cfg.recipe} makes otherwise is its own setting")
    check_api_keys(cfg, src)
    figures = stopped_or(lambda: estimate(cfg, src, args.pilot, progress=False if args.no_progress else None,
                                          overwrite=args.overwrite))
    if isinstance(figures, int):
        return figures
    print(render(figures, cfg.recipe, out_dir(cfg)))
    return 0
