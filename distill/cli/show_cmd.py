"""`distill show RUN_DIR`: a run folder made readable — counts per stage, rejection reasons, usage and cost, score
histograms, what the selection kept, evol's per-round table, and records rendered as conversations (filter rejected
ones by stage and reason)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("show", help="show a run folder: counts, scores, costs and readable records",
                       description="Show a run folder: per-stage counts and rejection reasons, usage and cost per "
                                   "role, score histograms, selection counts, evol's round table, and a few records "
                                   "as conversations.",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  distill show outputs/respond-demo -n 5\n"
                              "  distill show outputs/respond-demo --rejected --reason too_short\n"
                              "  distill show outputs/respond-demo --rejected --stage quality --full")
    p.add_argument("run_dir", type=Path)
    p.add_argument("-n", type=int, default=3, help="records to show (default 3)")
    p.add_argument("--rejected", action="store_true", help="show rejected records instead of accepted ones")
    p.add_argument("--stage", help="only rejected records of this stage (implies --rejected)")
    p.add_argument("--reason", help="only rejected records with this reason (implies --rejected)")
    p.add_argument("--full", action="store_true", help="print messages whole (default: at most 800 characters)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console

    from distill.errors import InputError

    run = args.run_dir
    if not run.exists():
        raise InputError(f"{run}: no such folder")
    if not run.is_dir():
        raise InputError(f"{run}: not a folder (give a run folder such as outputs/respond-demo)")
    manifest_path = run / "manifest.json"
    if not manifest_path.exists():
        partial = list(run.glob("*.partial"))
        hint = (" (it was interrupted: run the same command again to finish it)" if partial
                else " (no finished run here)")
        raise InputError(f"{run}: no manifest.json, so not a finished run folder{hint}{_spent_so_far(run)}")
    from distill.redact import redact_manifest

    m = redact_manifest(json.loads(manifest_path.read_text()))  # a manifest written before redaction, too
    console = Console(highlight=False, soft_wrap=False)
    _header(console, run, m)
    _stages(console, m)
    _usage(console, m)
    _budget(console, m)
    _target(console, m)
    _scores(console, m)
    _evol(console, m)
    _records(console, run, args)
    return 0


def _header(console: Any, run: Path, m: dict[str, Any]) -> None:
    teacher = m.get("teacher") or {}
    c = m["counts"]
    console.print(f"[bold]{run}[/]: recipe {m['recipe']} | teacher {teacher.get('kind')}:{teacher.get('model')} | "
                  f"seed {m['seed']} | {m['wall_seconds']}s", markup=True)
    console.print(f"accepted {c['accepted']}, rejected {c['rejected']}, failed {c['failed']}")


def _table(title: str, columns: list[str]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def _stages(console: Any, m: dict[str, Any]) -> None:
    table = _table("Stages", ["stage", "accepted", "rejected", "failed", "rejection reasons"])
    for stage, s in m["stages"].items():
        reasons = ", ".join(f"{k} {v}" for k, v in s["rejected"].items()) or "-"
        table.add_row(stage, str(s["accepted"]), str(sum(s["rejected"].values())), str(s["failed"]), reasons)
    console.print(table)


def _usage(console: Any, m: dict[str, Any]) -> None:
    table = _table("Calls and cost", ["role", "answered", "cached", "retries", "failed", "tokens in", "tokens out",
                                      "cost USD"])
    notes = []
    for role, u in m["usage"].items():
        cost = "unknown" if u.get("cost_usd") is None else f"{u['cost_usd']:.4f}"
        reasons = ", ".join(f"{k} {v}" for k, v in (u.get("retry_reasons") or {}).items())
        if reasons:
            notes.append(f"  {role} retries: {reasons}")
        table.add_row(role, str(u["answered"]), str(u["cache_hits"]), str(u["retries"]), str(u["failed"]),
                      f"{u['prompt_tokens']:,}", f"{u['completion_tokens']:,}", cost)
    console.print(table)
    for line in notes:
        console.print(line)


def _budget(console: Any, m: dict[str, Any]) -> None:
    """Spend against the run's `budget:` (every role, over all runs of the folder, as the budget counts it)."""
    budget = (m.get("config") or {}).get("budget")
    if not budget:
        return
    console.print("Budget: spent " + _against(m.get("usage") or {}, budget) + ", over all runs of this folder")


def _target(console: Any, m: dict[str, Any]) -> None:
    """Accepted records against the run's `target:` (run/target.py), whether the run made nothing, and the pilot's
    prediction if one was made."""
    from distill.run.shortfall import made_nothing, shortfall_line
    from distill.run.target import target_summary

    line = target_summary(m)
    if line is not None:
        console.print(line)
    if made_nothing(m):  # exit 1 too, like a target not reached; said in words so the two are not confused
        short = shortfall_line(m)
        console.print("Nothing was made: not one record was accepted (see --rejected); `distill run` exited 1"
                      + (f". {short}" if short else ""))
    pilot = m.get("pilot")
    if isinstance(pilot, dict) and isinstance(pilot.get("prediction"), dict):
        p = pilot["prediction"]
        cost = p.get("cost_usd")
        said = "cost unknown" if cost is None else f"${cost[1]:.4f} (${cost[0]:.4f}-${cost[2]:.4f})"
        costs = [u.get("cost_usd") for u in (m.get("usage") or {}).values()]
        spent = "an unknown amount" if None in costs else f"${sum(costs):.4f}"
        drawn = (m.get("records_target") or {}).get("items")
        real = f"{drawn:,} items and " if drawn is not None else ""
        console.print(f"Pilot of {pilot['items']} items predicted for {p['goal']}: {p['items'][1]:,} items, {said}; "
                      f"the folder's runs took {real}{spent}")


def _against(usage: dict[str, Any], budget: dict[str, Any]) -> str:
    costs = [u.get("cost_usd") for u in usage.values()]
    usd = None if None in costs else sum(costs)
    tokens = sum(int(u.get("prompt_tokens") or 0) + int(u.get("completion_tokens") or 0) for u in usage.values())
    parts = []
    if budget.get("usd"):
        spent = "an unknown amount" if usd is None else f"${usd:.4f} ({100 * usd / budget['usd']:.0f}%)"
        parts.append(f"{spent} of ${budget['usd']:g}")
    if budget.get("tokens"):
        parts.append(f"{tokens:,} of {budget['tokens']:,} tokens ({100 * tokens / budget['tokens']:.0f}%)")
    return " and ".join(parts)


def _spent_so_far(run: Path) -> str:
    """What an unfinished folder (stopped by its budget, Ctrl+C, ...) has spent, from its cache's usage history
    (engine/usage_ledger.py), read without writing to it; empty when there is none."""
    import sqlite3

    import orjson

    path = run / "cache.sqlite"
    if not path.exists():
        return ""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM ledger WHERE id = 0").fetchone()
        finally:
            db.close()
        history = orjson.loads(row[0]) if row else {}
    except (sqlite3.Error, ValueError):
        return ""
    if not isinstance(history, dict) or not history:
        return ""
    costs = [e.get("cost_usd") for e in history.values()]
    tokens = sum(int(e.get("prompt_tokens") or 0) + int(e.get("completion_tokens") or 0) for e in history.values())
    usd = "an unknown amount" if None in costs else f"${sum(costs):.4f}"
    return f". Spent so far, over all its runs: {usd} and {tokens:,} tokens"


def _scores(console: Any, m: dict[str, Any]) -> None:
    from distill.quality.select import histogram

    scores = {k: d for k, d in (m.get("scores") or {}).items() if d.get("count")}
    for name, d in scores.items():
        hist = histogram(d)
        top = max(hist.values()) or 1
        table = _table(f"Score {name}: {d['count']} scored, mean {d['mean']}, min {d['min']}, max {d['max']}",
                       ["value", "count", ""])
        for value, n in hist.items():
            table.add_row(value, str(n), "█" * round(30 * n / top))
        console.print(table)
    sel = m.get("selection")
    if sel:
        console.print(f"Selection ({sel['mode']}): kept {sel['kept']} of {sel['candidates']}")
        for rule in sel["rules"]:
            console.print(f"  {rule['rule']}: {rule['passed']} passed")


def _evol(console: Any, m: dict[str, Any]) -> None:
    rounds = m.get("evol_rounds")
    if not rounds:
        return
    table = _table("Evolution rounds", ["round", "attempts", "survived", "eliminated", "mean difficulty"])
    for r in rounds:
        elim = ", ".join(f"{k} {v}" for k, v in r["eliminated"].items()) or "-"
        table.add_row(str(r["round"]), str(r["attempts"]), str(r["survived"]), elim, str(r["mean_difficulty"]))
    console.print(table)


def _records(console: Any, run: Path, args: argparse.Namespace) -> None:
    from distill.io.jsonl import read_jsonl

    rejected = args.rejected or args.stage is not None or args.reason is not None
    path = run / ("rejected.jsonl" if rejected else "data.jsonl")
    if not path.exists():
        console.print(f"({path.name} is not there)")
        return
    shown = matched = 0
    for _, row in read_jsonl(path):
        if rejected and ((args.stage and row.get("stage") != args.stage)
                         or (args.reason and row.get("reason") != args.reason)):
            continue
        matched += 1
        if shown < args.n:
            _record(console, row, rejected, None if args.full else 800)
            shown += 1
    what = "rejected" if rejected else "accepted"
    filters = " ".join(f"{k} {v}" for k, v in (("stage", args.stage), ("reason", args.reason)) if v)
    console.print(f"showed {shown} of {matched} {what} record(s)" + (f" with {filters}" if filters else ""))


def _record(console: Any, row: dict[str, Any], rejected: bool, limit: int | None) -> None:
    from rich.panel import Panel
    from rich.text import Text

    if rejected:
        title = f"rejected at {row.get('stage')}: {row.get('reason')}"
        item = row.get("item") or {}
        body = Text()
        messages = item.get("messages") if isinstance(item, dict) else None
        if messages:
            _messages(body, messages, limit)
        else:
            body.append(_cut(_plain(item), limit) + "\n")
        if row.get("raw"):
            body.append("teacher's reply: ", style="bold")
            body.append(_cut(str(row["raw"]), limit) + "\n")
        if row.get("detail"):
            body.append(f"detail: {_cut(_plain(row['detail']), limit)}\n", style="dim")
    else:
        meta = row.get("meta") or {}
        scores = ", ".join(f"{k} {v}" for k, v in (meta.get("scores") or {}).items())
        title = " | ".join(x for x in (meta.get("recipe"), scores) if x)
        body = Text()
        _messages(body, row.get("messages") or [], limit)
    console.print(Panel(body, title=title, title_align="left"))


def _messages(body: Any, messages: list[dict[str, Any]], limit: int | None) -> None:
    for msg in messages:
        body.append(f"{msg.get('role', '?')}: ", style="bold cyan" if msg.get("role") == "user" else "bold green")
        body.append(_cut(str(msg.get("content", "")), limit) + "\n")


def _plain(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cut(text: str, limit: int | None) -> str:
    """At most `limit` characters, cut at a word boundary, saying how much is left out (never mid-word). A model's
    terminal escapes and control characters are dropped: they would act on the terminal, not be shown."""
    from distill.redact import strip_controls

    text = strip_controls(text)
    if limit is None or len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit
    return text[:cut].rstrip() + f" … ({len(text) - cut:,} more characters; --full shows all)"
