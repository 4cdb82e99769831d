"""Knowledge documents named by a leaf's `document: {repo, commit, patterns}` — from a local folder or a local git
repository at a commit, inside the path policy's root (`distill/io/path_policy.py`). Never from the network: a URL
is an error that says to clone it first.

A folder's files are read through the policy: `repo` (absolute, relative to the leaf, with `..` or through
symlinks) must lead inside the root, and so must every matching file. A git repository must be a plain clone whose
`.git` and every symlink in it stay inside the root (no `.git` file pointing elsewhere, no `commondir`, no object
alternates), and git runs on it with the caller's GIT_* variables removed and the revision refused if it could be
read as an option."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from pathlib import Path

from distill.io.path_policy import PathPolicy

REVISION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./^~@{}-]*")
LINKED_STORES = ("commondir", "objects/info/alternates", "objects/info/http-alternates")


class DocumentError(Exception):
    pass


def resolve_documents(repo: str, commit: str | None, patterns: list[str], base: Path,
                      policy: PathPolicy) -> list[tuple[str, str]]:
    """(name relative to `repo`, text) for each file matching `patterns`, sorted by name; `base` is the leaf's
    folder. A path the policy refuses is an InputError; any other problem a DocumentError."""
    if "://" in repo or repo.startswith("git@"):
        raise DocumentError(f"document.repo {repo!r} is remote; distill never downloads: clone it and give the "
                            "local path")
    folder = base / Path(repo).expanduser()
    real = policy.contained(folder, "document.repo")
    if not real.is_dir():
        raise DocumentError(f"document.repo {repo!r}: no such folder ({folder})")
    if commit and (folder / ".git").exists():
        return _from_git(folder, commit, patterns, policy)
    if commit:
        raise DocumentError(f"document.commit is set but {folder} is not a git repository")
    chosen = policy.files_under(folder, "document", lambda name: any(fnmatch.fnmatch(name, p) for p in patterns))
    if not chosen:
        raise DocumentError(f"document.patterns {patterns} match no file under {folder}")
    return [(f.name, policy.read_text(f.path, "document")) for f in chosen]


def _from_git(folder: Path, commit: str, patterns: list[str], policy: PathPolicy) -> list[tuple[str, str]]:
    if not REVISION.fullmatch(commit):
        raise DocumentError(f"document.commit {commit!r} is not a commit or ref name")
    git_dir = folder / ".git"
    if not policy.contained(git_dir, "document.repo .git").is_dir():
        raise DocumentError(f"{git_dir} is a file pointing at another git folder (a linked worktree or submodule);"
                            " give a plain clone")
    for linked in LINKED_STORES:
        if (git_dir / linked).exists():
            raise DocumentError(f"{git_dir / linked}: the repository reads objects from elsewhere; give a plain "
                                "clone")
    policy.symlinks_stay_inside(git_dir, "document.repo .git")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}

    def git(*args: str) -> str:
        res = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise DocumentError(f"git {' '.join(args)} in {folder}: {res.stderr.strip() or 'failed'}")
        return res.stdout

    names = [n for n in git("ls-tree", "-r", "--name-only", commit).splitlines()
             if any(fnmatch.fnmatch(n, pat) for pat in patterns)]
    if not names:
        raise DocumentError(f"document.patterns {patterns} match no file at commit {commit} of {folder}")
    return [(n, git("show", f"{commit}:{n}")) for n in sorted(names)]
