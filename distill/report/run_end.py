"""The report `distill run` writes when a run finishes (`report: false` in the recipe or `--no-report` turns it
off). It is kept cheap: no sentence embeddings unless `report: {embeddings: true}`, and nothing in it can fail
the run: a missing library or model, or any error, leaves a one-line note on stderr and the run's data as it is.
Its memory is bounded whatever the run's size (see `sources.load_run`), and a run that ends with the data,
manifest figures and options of the report already in the folder keeps that report (`fingerprint`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from distill.config import ReportSpec


def spec_of(value: Any) -> ReportSpec:
    if isinstance(value, ReportSpec):
        return value
    return ReportSpec(enabled=bool(value))


def missing_report_files(cfg: Any) -> list[tuple[tuple[str, ...], str]]:
    """The report's files that are not there, as (key path, message), checked before a run starts: a reference
    or benchmark named as a file (a path or a file suffix) must exist; a bare `org/name` is a `datasets` dataset
    and is only read at the end."""
    spec = spec_of(cfg.report)
    named: list[tuple[tuple[str, ...], str]] = [(("report", "reference"), spec.reference)] if spec.reference else []
    named += [(("report", "benchmarks", str(i)), b) for i, b in enumerate(spec.benchmarks)]
    out: list[tuple[tuple[str, ...], str]] = []
    for key, value in named:
        path = cfg.resolve(value)
        looks_like_a_file = value.startswith((".", "/", "~")) or Path(value).suffix in (
            ".jsonl", ".json", ".parquet", ".csv") or key[1] == "benchmarks"
        if looks_like_a_file and not path.exists():
            out.append((key, f"{'.'.join(key[:2])}: no such file or folder: {path}"))
        elif path.is_dir() and not (path / "data.jsonl").is_file() and not (path / "dataset_info.json").exists():
            out.append((key, f"{'.'.join(key[:2])}: {path} is a folder without data.jsonl (a run folder) or a "
                             "saved dataset"))
    return out


def run_end_report(cfg: Any, folder: Path) -> dict[str, Any] | None:
    spec = spec_of(cfg.report)
    if not spec.enabled:
        return None
    try:
        from distill.report.build import Options, write

        seeds = (cfg.options or {}).get("seeds")
        opts = Options(reference=str(cfg.resolve(spec.reference)) if spec.reference else None,
                       benchmarks=[str(cfg.resolve(b)) for b in spec.benchmarks], embeddings=spec.embeddings,
                       embedding_model=spec.embedding_model, sample=spec.sample,
                       seeds=str(cfg.resolve(seeds)) if isinstance(seeds, str) and cfg.resolve(seeds).is_file()
                       else None)
        report = write(folder, opts, reuse=True)  # a re-run that changed nothing keeps the report it has
    except Exception as exc:  # noqa: BLE001  # the report must never cost the user their run
        print(f"warning: the data report was not written ({type(exc).__name__}: {exc}); "
              f"try `distill report {folder}`", file=sys.stderr)
        return None
    skipped = (report.get("embeddings") or {}).get("skipped")
    if skipped and spec.embeddings:
        print(f"note: report embedding sections skipped: {skipped}", file=sys.stderr)
    return report
