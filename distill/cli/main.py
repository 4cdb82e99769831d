"""`distill` entry point: builds the argument parser from the command modules and maps errors to exit codes.

Exit codes: 0 done, 1 the teacher failed (key, model, context), or the run made nothing (no record accepted), or
it fell short of `target:` / `--target` (the records accepted are a finished dataset; the message, `distill show`
and the card say "target not reached: K of N", not "nothing was made"), 2 bad input (config, files, options), 3 the
disk filled up (answers kept; free space and re-run), 4 the budget was reached (answers kept; raise `budget:` or
`--max-cost` and re-run), 130 interrupted (resume with the same command).

Commands are named in the generic registry (`distill/plugins.py`): each built-in in `COMMANDS` is the
`add_parser` of `distill/cli/NAME_cmd.py`; a plugin adds one under the `distill.commands` entry-point group
(`NAME = "package.module:add_parser"`). Plugins are looked up only when the command line names a command that is
not built in, so `distill --help` never scans the installed packages.
"""

from __future__ import annotations

import argparse
import sys

from distill.plugins import PluginError, Registry

COMMANDS: tuple[str, ...] = ("run", "validate", "recipes", "show", "export", "push", "taxonomy")

DESCRIPTION = """\
distill builds instruction-tuning datasets from a teacher model.

A recipe (a YAML file in recipes/) names the method, the teacher and the inputs; `distill run` calls the teacher,
filters what comes back and writes a run folder (outputs/<name>/) with data.jsonl, rejected.jsonl, failed.jsonl,
manifest.json and a cache of every answer, so a re-run or a resumed run never pays for a call twice.

The default teacher is SmolLM2-135M-Instruct, run in-process (pip install 'distill[local]'). Point at any
OpenAI-compatible server with --teacher openai:MODEL@http://host:port/v1, or at OpenAI with
--teacher openai:gpt-4o-mini and OPENAI_API_KEY set."""

COMMANDS += ("report", "compare")  # the data report: distill/report/, cli/report_cmd.py, cli/compare_cmd.py
COMMANDS += ("status",)  # batch mode: where a run's batches stand (cli/status_cmd.py)
COMMANDS += ("train",)  # fine-tuning a student on a run's data: cli/train_cmd.py, distill/train/
COMMANDS += ("estimate",)  # a pilot of K items and the run's predicted cost and time: cli/estimate_cmd.py
COMMANDS += ("eval",)  # measuring models on held-out questions: cli/eval_cmd.py, distill/eval/


def commands() -> Registry:
    """The command registry: the built-ins' `add_parser`, then the `distill.commands` plugins."""
    return Registry("command", "distill.commands", {name: f"distill.cli.{name}_cmd:add_parser" for name in COMMANDS})


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every built-in command, plus the plugin command `argv` names, if it names one."""
    parser = argparse.ArgumentParser(prog="distill", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from distill import __version__

    parser.add_argument("--version", action="version", version=f"distill {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    registry = commands()
    wanted = next((a for a in argv or () if not a.startswith("-")), None)
    names = [*COMMANDS, *([wanted] if wanted and wanted not in COMMANDS and wanted in registry else [])]
    for name in names:
        try:
            registry.load(name)(sub)
        except PluginError as exc:
            if name in COMMANDS:
                raise
            parser.error(str(exc))
    for command in sub.choices.values():  # a bad flag shows the command's own usage, not the top-level one
        command.set_defaults(command_parser=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command with stdout and stderr masking every secret distill reads (distill/secrets.py)."""
    from distill.secrets import masked_console

    with masked_console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    import signal

    from distill.errors import DistillError

    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        (getattr(args, "command_parser", None) or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # `distill ... | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except DistillError as exc:
        from distill.redact import redact_text, strip_controls

        print(f"error: {redact_text(strip_controls(str(exc)))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk while exporting or pushing: a message, not a traceback
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return _unexpected()
        print(f"error: the disk is full ({exc.strerror}: {exc.filename or ''}); free some space and run the "
              "same command again", file=sys.stderr)
        return 3
    except Exception:
        return _unexpected()


def _unexpected() -> int:
    """A bug: its traceback (exit 1, as Python's own), printed while the console still masks secrets."""
    import traceback

    traceback.print_exc()
    return 1


if __name__ == "__main__":
    sys.exit(main())
