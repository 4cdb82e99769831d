"""An evaluation kept in the run folder whose data trained the student (RUN/evaluations/NAME.json), and the run's
card written again so that it shows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from distill.publish.card_eval import FOLDER, run_evaluations


def record(run_dir: Path, name: str, result: dict[str, Any]) -> Path:
    """Keep an evaluation in the run folder and write its card again."""
    from distill.train.checkpoint import write_json_atomic

    folder = run_dir / FOLDER
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    write_json_atomic(path, result)
    refresh_card(run_dir)
    return path


def refresh_card(run_dir: Path) -> None:
    """README.md again from the run's manifest, its report and its evaluations (a run without a manifest has no
    card to refresh)."""
    from distill.publish.card import render_card
    from distill.publish.push import _report

    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        return
    from distill.run.folder import write_atomic

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    write_atomic(run_dir / "README.md", render_card(manifest, report=_report(run_dir),
                                                    evaluations=run_evaluations(run_dir)))
