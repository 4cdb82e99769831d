"""A pilot (`distill estimate RECIPE --pilot K`, `distill run ... --dry-run --pilot K`): run the first K items for
real and predict what the whole run will cost and how long it will take.

The pilot runs the recipe with `num: K` into the run folder the real run uses, through its call cache, so the
real run reads the pilot's answers at no cost; its records are not kept (the folder holds no finished run
afterwards). It neither replays nor keeps item logs, so every answer it uses goes through the teacher's cache
and is counted (a replayed item log carries no tokens).

What it measures: per stage, accepted against everything that stage decided; the records accepted in the end
(after `select:`); per role the calls per item, prompt and completion tokens per call, and seconds per call (a
request's time in its slot, as the server answered it during this pilot; a pilot read wholly from the cache
reuses the seconds of the pilot before it). What it predicts, for `--target N` (or `--num N`, or every input row):
* the acceptance rate as accepted records over the candidates the K items could give at most (K x samples,
  K x instances per task; `candidates_per_item`), with a Wilson score interval at 95%;
* the items the run will draw: for a target, the rounds of run/target.py played with the rate (and with both ends
  of its interval, which give the interval of the items);
* per role: cost = items x calls per item x tokens per call x the role's price, immediate and batch
  (engine/prices.py); an unknown price is said, never counted as 0;
* time: at the pilot's pace — its time from the first request sent to the last answer, per item, x the items —
  which holds for a server that answers one call at a time (the embedded model, llama-cpp-python's server) and
  for any pilot that filled `max_concurrency`; and, when that is less, what the run takes if the server answers
  `max_concurrency` calls at once: per role, calls x seconds per call / max_concurrency, the longest role's time
  (each role has its own slots and they work side by side). A pilot read wholly from the cache reuses the pace
  of the pilot before it.
The interval covers the uncertainty of the acceptance rate only, not that of the tokens per call. The figures
are written to `pilot.json` in the run folder, and the manifest of the next run made with the same
configuration there holds them as `pilot`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from distill.engine.prices import batch_factor, price_info
from distill.run.folder import write_json_atomic
from distill.run.target import candidates_per_item, first_round, items_to_reach

if TYPE_CHECKING:
    from pydantic import BaseModel

    from distill.config import RunConfig
    from distill.providers.spec import ProviderSpec
    from distill.recipes.base import Recipe
    from distill.run.folder import RunFolder
    from distill.run.runner import Session

PILOT_FILE = "pilot.json"
Z = 1.959964  # 95%


def wilson(successes: int, trials: int, z: float = Z) -> tuple[float, float]:
    """The Wilson score interval of a proportion (successes of trials)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def role_spec(cfg: RunConfig, role: str) -> ProviderSpec | None:
    """The model that answers a usage role (the judge and the answering role fall back to the teacher's)."""
    if role == "teacher":
        return cfg.teacher
    if role == "judge":
        return cfg.judge or cfg.teacher
    if role == "answer":
        return cfg.answer_teacher or cfg.teacher
    if role == "reward":
        return cfg.reward
    return None


def finish_pilot(session: Session, cfg: RunConfig, cls: type[Recipe], options: BaseModel, folder: RunFolder,
                 rows: int | None, k: int, earlier: dict[str, Any] | None) -> dict[str, Any]:
    """After the pilot's items ran (`run_rounds(..., num=k)`): measure them, predict, write pilot.json; keep no
    records (the partial files go) and close the cache and the folder."""
    from distill.run.fingerprint import run_fingerprint

    try:
        items = min(k, rows) if rows is not None else k
        figures = measure(session, cfg, cls, options, items, earlier)
        figures["prediction"] = predict(figures, cfg.target, cfg.num, rows)
        figures["fingerprint"] = run_fingerprint(cfg).hex()
        write_json_atomic(folder.path / PILOT_FILE, figures)
    finally:
        folder.discard_partials()
        session.cache.close()
        folder.release()
    return figures


def measure(session: Session, cfg: RunConfig, cls: type[Recipe], options: BaseModel, items: int,
            earlier: dict[str, Any] | None) -> dict[str, Any]:
    ctx, keep = session.ctx, session.keep
    accepted = keep.count(True) if keep is not None else len(ctx.folder.streams["data"].orders)
    per_item = candidates_per_item(cfg, cls, options)
    stages = {}
    for name, s in ctx.stages.items():
        decided = s.accepted + sum(s.rejected.values()) + s.failed
        stages[name] = {"accepted": s.accepted, "decided": decided,
                        "rate": round(s.accepted / decided, 4) if decided else None}
    roles: dict[str, Any] = {}
    before = (earlier or {}).get("roles", {})
    for role, r in session.usage.roles.items():
        calls = r.answered + r.cache_hits
        if not calls:
            continue
        prompt = r.prompt_tokens + r.cached_prompt_tokens
        completion = r.completion_tokens + r.cached_completion_tokens
        seconds = (r.seconds / r.timed_calls if r.timed_calls
                   else (before.get(role) or {}).get("seconds_per_call"))
        spec = role_spec(cfg, role)
        info = price_info(spec) if spec is not None else None
        price = info.price if info is not None else None
        roles[role] = {
            "model": spec.short_name() if spec is not None else role,
            "calls": calls, "calls_per_item": calls / items,
            "prompt_tokens_per_call": prompt / calls, "completion_tokens_per_call": completion / calls,
            "seconds_per_call": seconds, "timed_calls": r.timed_calls,
            "max_concurrency": spec.max_concurrency if spec is not None else 1,
            "price": price.model_dump() if price is not None else None,
            "batch_factor": batch_factor(spec) if spec is not None else 1.0,
        }
    lo, hi = wilson(accepted, max(items * per_item, accepted))
    starts = [r.first_sent for r in session.usage.roles.values() if r.first_sent is not None]
    ends = [r.last_answer for r in session.usage.roles.values() if r.last_answer is not None]
    pace: float | None
    if items and starts and ends:  # from the first request sent to the last answer: no start-up, no model loading
        pace = (max(ends) - min(starts)) / items
    else:  # every answer came from the cache
        pace = (earlier or {}).get("seconds_per_item")
    return {"items": items, "accepted": accepted, "candidates_per_item": per_item,
            "rate_per_item": accepted / items if items else 0.0,
            "rate_interval": [lo * per_item, hi * per_item], "stages": stages, "roles": roles,
            "pilot_seconds": round(session.wall, 3),
            "seconds_per_item": pace}


def predict(figures: dict[str, Any], target: int | None, num: int | None, rows: int | None) -> dict[str, Any]:
    """Items, cost per role (immediate and batch) and time of the run, each with its interval (low, point, high:
    the items at the high and low ends of the acceptance rate's interval)."""
    rate = figures["rate_per_item"]
    low_rate, high_rate = figures["rate_interval"]
    per_item = figures["candidates_per_item"]
    cap = min(c for c in (rows, num) if c is not None) if (rows is not None or num is not None) else None
    if target is not None:
        first = first_round(target, per_item, cap)
        items = [items_to_reach(target, r, first, cap) for r in (high_rate, rate, low_rate)]
        goal = f"{target:,} accepted records"
    else:
        n = cap if cap is not None else figures["items"]
        items = [n, n, n]
        goal = f"{n:,} items"
    roles: dict[str, Any] = {}
    for role, r in figures["roles"].items():
        calls = [r["calls_per_item"] * n for n in items]
        price = r["price"]
        cost = None if price is None else [c * (r["prompt_tokens_per_call"] * price["prompt_per_mtok"]
                                                + r["completion_tokens_per_call"] * price["completion_per_mtok"]) / 1e6
                                           for c in calls]
        seconds = None if r["seconds_per_call"] is None else [
            c * r["seconds_per_call"] / max(1, r["max_concurrency"]) for c in calls]
        roles[role] = {"model": r["model"], "calls": calls, "cost_usd": cost,
                       "batch_cost_usd": None if cost is None else [c * r["batch_factor"] for c in cost],
                       "seconds": seconds}
    known = all(v["cost_usd"] is not None for v in roles.values())
    total = [sum(v["cost_usd"][i] for v in roles.values()) for i in range(3)] if known else None
    batch = [sum(v["batch_cost_usd"][i] for v in roles.values()) for i in range(3)] if known else None
    timed = [v["seconds"] for v in roles.values() if v["seconds"] is not None]
    parallel = [max(t[i] for t in timed) for i in range(3)] if timed else None
    pace = figures.get("seconds_per_item")
    seconds = [pace * n for n in items] if pace is not None else parallel
    records = [min(target, r * n) if target is not None else r * n
               for r, n in zip((low_rate, rate, high_rate), items, strict=True)]
    return {"goal": goal, "items": items, "records": records, "roles": roles, "cost_usd": total,
            "batch_cost_usd": batch, "seconds": seconds,
            "seconds_if_parallel": parallel if parallel is not None and seconds is not None
            and parallel[1] < 0.8 * seconds[1] else None,
            "short": cap is not None and target is not None and rate * cap < target}


def render(figures: dict[str, Any], recipe: str, folder: Path) -> str:
    f, p = figures, figures["prediction"]
    lo, hi = f["rate_interval"]
    unit = "per item" if f["candidates_per_item"] == 1 else f"per item (at most {f['candidates_per_item']})"
    lines = [f"pilot: {f['items']} item(s) of {recipe} run for real in {f['pilot_seconds']:.1f} s; "
             f"{f['accepted']} record(s) accepted, {f['rate_per_item']:.3g} {unit} (95% interval {lo:.3g}-{hi:.3g})"]
    for name, s in f["stages"].items():
        if s["decided"]:
            lines.append(f"  stage {name}: {s['accepted']} of {s['decided']} passed ({100 * (s['rate'] or 0):.0f}%)")
    for role, r in f["roles"].items():
        secs = "time unknown" if r["seconds_per_call"] is None else f"{r['seconds_per_call']:.2f} s"
        lines.append(f"  {role} ({r['model']}): {r['calls_per_item']:.2f} calls per item, "
                     f"{r['prompt_tokens_per_call']:.0f} prompt + {r['completion_tokens_per_call']:.0f} completion "
                     f"tokens and {secs} per call")
    items, records = p["items"], p["records"]
    if items[0] == items[2]:  # --num (or every input row): the items are known, the records accepted are not
        lines.append(f"for {p['goal']}: about {records[1]:,.0f} accepted records (95%: {records[0]:,.0f}-"
                     f"{records[2]:,.0f})")
    else:
        lines.append(f"to reach {p['goal']}: about {items[1]:,} items (95%: {items[0]:,}-{items[2]:,})")
    if p["short"]:
        lines.append(f"  the inputs run out first: about {p['records'][1]:.0f} records at this rate")
    for role, r in p["roles"].items():
        if r["cost_usd"] is None:
            cost = "cost unknown: no price for this model (set `price:` on the role)"
        else:
            c, b = r["cost_usd"], r["batch_cost_usd"]
            cost = _usd(c) + (f"; batch {_usd(b)}" if b != c else "; batch the same (no batch discount here)")
        lines.append(f"  {role:<8} {r['calls'][1]:>10,.0f} calls  {cost}")
    if p["cost_usd"] is not None:
        batch = p["batch_cost_usd"]
        lines.append(f"  total    {_usd(p['cost_usd'])}" + (f"; batch {_usd(batch)}" if batch != p["cost_usd"] else ""))
    else:
        lines.append("  total    unknown: a role's price is unknown")
    if p["seconds"] is not None:
        s = p["seconds"]
        lines.append(f"  time     about {_duration(s[1])} ({_duration(s[0])}-{_duration(s[2])}) at the pilot's pace")
        fast = p.get("seconds_if_parallel")
        if fast is not None:
            lines.append(f"           as little as {_duration(fast[1])} if the server answers max_concurrency calls "
                         f"at once (the pilot's {f['items']} item(s) did not fill it)")
    lines.append(f"The pilot's answers are in {folder / 'cache.sqlite'}: the run reuses them at no cost. Figures in "
                 f"{folder / PILOT_FILE}; the run's manifest will hold them as `pilot`.")
    return "\n".join(lines)


def _usd(v: list[float]) -> str:
    return f"${v[1]:.4f} (${v[0]:.4f}-${v[2]:.4f})"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def read_pilot(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads((path / PILOT_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pilot_section(path: Path, fingerprint: bytes) -> dict[str, Any] | None:
    """The pilot made in this folder with this configuration, for the run's manifest (None if none was)."""
    data = read_pilot(path)
    if data is None or data.get("fingerprint") != fingerprint.hex():
        return None
    return {k: v for k, v in data.items() if k != "fingerprint"}
