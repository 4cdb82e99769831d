"""What a run-end report was built from, as one digest kept in the report itself (report.json's `fingerprint`
and a <meta> tag at the top of report.html): the bytes of data.jsonl and rejected.jsonl, the manifest figures
the report shows (not its timestamps or wall time), the report's options with the size and modification time of
every file they name, and distill's version. A run that ends with the same digest as the report already in the
folder leaves that report as it is (a re-run of a finished run changes nothing it shows); any difference
rebuilds it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

FORMAT = 3  # bump when the report's content changes for the same inputs
META = re.compile(rb'<meta name="distill-report" content="([0-9a-f]{64})">')
MANIFEST_KEYS = ("name", "recipe", "teacher", "stages", "counts", "reasoning", "reasoning_difficulty")


def _file(path: Path, h: Any) -> None:
    if not path.is_file():
        h.update(b"absent\0")
        return
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    h.update(b"\0")


def _stat(value: str | None) -> Any:
    """A file an option names: its size and mtime (a `datasets` name, or nothing: as given)."""
    if not value:
        return value
    path = Path(value).expanduser()
    target = path / "data.jsonl" if path.is_dir() and (path / "data.jsonl").is_file() else path
    if target.is_file():
        st = target.stat()
        return [value, st.st_size, st.st_mtime_ns]
    if path.is_dir():  # a saved `datasets` dataset: every file in it
        return [value, sorted([str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns]
                              for p in path.rglob("*") if p.is_file())]
    return value


def fingerprint(run_dir: Path, opts: Any) -> str:
    from distill import __version__
    from distill.report.sources import seeds_file

    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    seeds = seeds_file(run_dir, manifest, opts.seeds)
    options = asdict(opts)
    described = {"format": FORMAT, "version": __version__, "run": str(run_dir),
                 "manifest": {k: manifest.get(k) for k in MANIFEST_KEYS}, "options": options,
                 "files": {"reference": _stat(options.get("reference")),
                           "seeds": _stat(str(seeds) if seeds else None),
                                               "benchmarks": [_stat(b) for b in options.get("benchmarks") or []]}}
    h = hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode())
    for name in ("data.jsonl", "rejected.jsonl"):
        _file(run_dir / name, h)
    return h.hexdigest()


def meta_tag(digest: str) -> str:
    return f'<meta name="distill-report" content="{digest}">'


def current(run_dir: Path, digest: str) -> dict[str, Any] | None:
    """The report already in the folder when it was built from `digest` and all its files are there."""
    try:
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        with open(run_dir / "report.html", "rb") as fh:
            head = fh.read(4096)
    except (OSError, ValueError):
        return None
    m = META.search(head)
    if not isinstance(report, dict) or report.get("fingerprint") != digest or not m or m.group(1).decode() != digest:
        return None
    if report.get("image") and not (run_dir / str(report["image"])).is_file():
        return None
    return report
