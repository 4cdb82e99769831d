"""The path policy on real files: what it lets a config or a taxonomy read (inside the root, after `..` and
symlinks) and what it refuses (outside it, /proc, /dev, /sys, non-regular files), each refusal naming the key."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from distill.errors import InputError
from distill.io.path_policy import PathPolicy


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """root/docs/a.md and root/docs/sub/b.md inside; secret.md outside the root."""
    root = tmp_path / "root"
    (root / "docs" / "sub").mkdir(parents=True)
    (root / "docs" / "a.md").write_text("inside A")
    (root / "docs" / "sub" / "b.md").write_text("inside B")
    secret = tmp_path / "secret.md"
    secret.write_text("SECRET-TOKEN")
    return root, secret


def test_a_file_inside_the_root_is_read(tree):
    root, _ = tree
    policy = PathPolicy(root)
    assert policy.read_text(root / "docs" / "a.md", "options.documents") == "inside A"
    assert policy.read_text(root / "docs" / "sub" / ".." / "a.md", "options.documents") == "inside A"
    (root / "docs" / "alias.md").symlink_to(root / "docs" / "sub" / "b.md")  # a link that stays inside is fine
    assert policy.read_text(root / "docs" / "alias.md", "options.documents") == "inside B"


@pytest.mark.parametrize("where", [
    lambda root, secret: secret,                                     # absolute path outside
    lambda root, secret: root / "docs" / ".." / ".." / secret.name,  # `..` out of the root
    lambda root, secret: Path("/etc/passwd"),
])
def test_a_path_outside_the_root_is_refused_naming_the_key(tree, where):
    root, secret = tree
    path = where(root, secret)
    with pytest.raises(InputError) as err:
        PathPolicy(root).read_text(path, "options.documents")
    assert str(err.value).startswith("options.documents: ") and "outside" in str(err.value)
    assert str(path) in str(err.value) and "files_root" in str(err.value)


def test_a_symlink_inside_the_root_that_leads_out_is_refused(tree):
    root, secret = tree
    link = root / "docs" / "leak.md"
    link.symlink_to(secret)
    with pytest.raises(InputError, match=f"leak.md leads to {secret} is outside"):
        PathPolicy(root).read_text(link, "document")
    with pytest.raises(InputError, match="leak.md leads to"):  # a walk refuses it rather than skipping it
        PathPolicy(root).files_under(root / "docs", "document", lambda name: name.endswith(".md"))


def test_proc_dev_and_sys_are_never_read_even_with_the_widest_root():
    policy = PathPolicy(Path("/"))
    for path in ("/proc/self/environ", "/dev/zero", "/sys/kernel/hostname"):
        with pytest.raises(InputError, match="never reads under /proc, /dev or /sys"):
            policy.read_text(Path(path), "document")
    with pytest.raises(InputError, match="never reads"):
        PathPolicy(Path("/proc/self"))


def test_a_walk_lists_regular_files_only_and_does_not_enter_symlinked_folders(tree, tmp_path):
    root, secret = tree
    (root / "docs" / "outside").symlink_to(tmp_path, target_is_directory=True)  # holds secret.md: never entered
    (root / "docs" / ".git").mkdir()
    (root / "docs" / ".git" / "c.md").write_text("git internals")
    os.mkfifo(root / "docs" / "pipe.md")                                       # would block a reader
    (root / "docs" / "unrelated.bin").symlink_to(secret)                         # not selected: not examined
    found = PathPolicy(root).files_under(root / "docs", "document", lambda name: name.endswith(".md"))
    assert [f.name for f in found] == ["a.md", "sub/b.md"]


def test_a_fifo_is_refused_without_blocking(tree):
    root, _ = tree
    os.mkfifo(root / "pipe.md")
    result: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(result, PathPolicy(root).read_text, root / "pipe.md"))
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(result[0], InputError) and "not a regular file" in str(result[0])


def _capture(out: list[BaseException], read, path: Path) -> None:
    try:
        read(path, "document")
    except BaseException as exc:  # handed to the test thread
        out.append(exc)


def test_a_root_that_is_not_a_folder_names_the_setting(tmp_path):
    with pytest.raises(InputError, match=r"^files_root: .*nope is not a folder"):
        PathPolicy(tmp_path / "nope")
