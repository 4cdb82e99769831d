"""Knowledge documents named by a leaf's `document: {repo, commit, patterns}` — from a local folder or a local git
repository at a commit. Never from the network: a URL is an error that says to clone it first."""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path


class DocumentError(Exception):
    pass


def resolve_documents(repo: str, commit: str | None, patterns: list[str], base: Path) -> list[tuple[str, str]]:
    if "://" in repo or repo.startswith("git@"):
        raise DocumentError(f"document.repo {repo!r} is remote; distill never downloads: clone it and give the "
                            "local path")
    root = (base / repo).resolve() if not Path(repo).is_absolute() else Path(repo)
    if not root.is_dir():
        raise DocumentError(f"document.repo {repo!r}: no such folder ({root})")
    if commit and (root / ".git").exists():
        return _from_git(root, commit, patterns)
    if commit and not (root / ".git").exists():
        raise DocumentError(f"document.commit is set but {root} is not a git repository")
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
    chosen = [p for p in files if any(fnmatch.fnmatch(str(p.relative_to(root)), pat) for pat in patterns)]
    if not chosen:
        raise DocumentError(f"document.patterns {patterns} match no file under {root}")
    out = []
    for p in chosen:
        try:
            out.append((str(p.relative_to(root)), p.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentError(f"document {p}: cannot read as UTF-8 text ({exc})") from None
    return out


def _from_git(root: Path, commit: str, patterns: list[str]) -> list[tuple[str, str]]:
    def git(*args: str) -> str:
        res = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        if res.returncode != 0:
            raise DocumentError(f"git {' '.join(args)} in {root}: {res.stderr.strip() or 'failed'}")
        return res.stdout

    names = [n for n in git("ls-tree", "-r", "--name-only", commit).splitlines()
             if any(fnmatch.fnmatch(n, pat) for pat in patterns)]
    if not names:
        raise DocumentError(f"document.patterns {patterns} match no file at commit {commit} of {root}")
    return [(n, git("show", f"{commit}:{n}")) for n in sorted(names)]
