"""`distill push`: a run folder to a Hugging Face dataset repo, through the real `huggingface_hub` client.

What lands in the repo: `data/<config>/<split>-00000-of-00001.parquet` (the chosen export format),
`distill/<config>/manifest.json` (the run's manifest, no secrets), and README.md — the dataset card, whose
`configs:` list is merged: pushing a config adds or replaces that config and keeps every other one. Pushing the
same run again yields the same files (idempotent). The token comes from HF_TOKEN or the standard token file and
is never written anywhere; the run folder gets a copy of the card.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.errors import DistillError, InputError
from distill.hub_names import push_names_problem
from distill.publish.card import parse_front_matter, render_card
from distill.publish.formats import FORMATS, require_records, require_thinking, write
from distill.publish.reasoning_formats import REASONING_FORMATS, token_stats
from distill.redact import clean_text, redact_manifest
from distill.run.folder import write_atomic
from distill.secrets import register


@dataclass
class PushResult:
    url: str
    rows: int
    files: list[str]


class PublishError(DistillError):
    exit_code = 1


def _token() -> str:
    from huggingface_hub import get_token

    token = get_token()
    register(token)  # masked, by value, in every message and file from now on
    if not token:
        raise InputError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (the token is read, never "
                         "stored by distill)")
    return token


def _existing_configs(api: Any, repo_id: str) -> list[dict[str, Any]]:
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", local_dir=tmp)
            return list(parse_front_matter(Path(path).read_text(encoding="utf-8")).get("configs") or [])
    except (EntryNotFoundError, RepositoryNotFoundError):
        return []


def _report(run_dir: Path) -> dict[str, Any] | None:
    """The run's report.json (distill/report/), its image only if the file is still there."""
    path = run_dir / "report.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text(encoding="utf-8"))
    if report.get("image") and not (run_dir / report["image"]).is_file():
        report["image"] = None
    return report  # type: ignore[no-any-return]


def push(run_dir: Path, repo_id: str, *, private: bool = False, config_name: str = "default",
         split: str = "train", fmt: str = "messages", license: str = "other") -> PushResult:
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    problem = push_names_problem(repo_id, config_name, split)
    if problem:  # before the Hub is contacted: these names become paths in the repo
        raise InputError(problem)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        raise InputError(f"{run_dir}: no manifest.json, so not a finished run folder; finish the run first")
    if fmt not in FORMATS:
        raise InputError(f"--format: choose one of {', '.join(FORMATS)}")
    require_records(run_dir, fmt)  # before the Hub is contacted
    require_thinking(run_dir, fmt)
    thinking = token_stats(run_dir / "data.jsonl") if fmt in REASONING_FORMATS else None  # for the card
    manifest = redact_manifest(json.loads(manifest_path.read_text()))  # a run made before redaction existed, too
    api = HfApi(token=_token())
    try:
        api.whoami()
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise PublishError(f"the Hub at {api.endpoint} rejected the token (HTTP {status}). Check HF_TOKEN or "
                           "log in again; nothing was pushed.") from None
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        configs = [c for c in _existing_configs(api, repo_id) if c.get("config_name") != config_name]
        configs.append({"config_name": config_name,
                        "data_files": [{"split": split, "path": f"data/{config_name}/{split}-*"}]})
        report, image = _report(run_dir), f"distill/{config_name}/report.png"  # the data report, when written
        from distill.publish.card_eval import run_evaluations

        card = render_card(manifest, license=license, repo_id=repo_id, config_name=config_name, split=split,
                           configs=sorted(configs, key=lambda c: c["config_name"]), report=report, image=image,
                           fmt=fmt, thinking=thinking, evaluations=run_evaluations(run_dir))
        with tempfile.TemporaryDirectory() as tmp:
            parquet = Path(tmp) / "data.parquet"
            rows = write(run_dir, fmt, parquet)
            data_path = f"data/{config_name}/{split}-00000-of-00001.parquet"
            ops: list[Any] = [CommitOperationAdd(data_path, str(parquet)),
                   CommitOperationAdd(f"distill/{config_name}/manifest.json",
                                      json.dumps(manifest, indent=2).encode("utf-8")),
                   CommitOperationAdd("README.md", card.encode("utf-8"))]
            if report and report.get("image"):
                ops.append(CommitOperationAdd(image, str(run_dir / report["image"])))
            stale = [f for f in api.list_repo_files(repo_id, repo_type="dataset")
                     if f.startswith(f"data/{config_name}/{split}-") and f != data_path]
            if stale:
                from huggingface_hub import CommitOperationDelete

                ops += [CommitOperationDelete(f) for f in stale]
            api.create_commit(repo_id, ops, repo_type="dataset",
                              commit_message=f"distill: {manifest['recipe']} run {manifest['name']} "
                                             f"-> {config_name}/{split}")
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise PublishError(f"pushing to {repo_id} failed (HTTP {status}): {clean_text(str(exc).splitlines()[0])}"
                           ) from None
    write_atomic(run_dir / "README.md", card)
    return PushResult(url=f"{api.endpoint}/datasets/{repo_id}", rows=rows,
                      files=[op.path_in_repo for op in ops if isinstance(op, CommitOperationAdd)])
