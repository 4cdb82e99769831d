"""User documents for grounded generation: a folder (or file) of markdown and plain text, read in a stable
order through the path policy (`path_policy.py`), and split into chunks on their structure (`chunking.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distill.errors import InputError
from distill.io.chunking import chunk_text
from distill.io.path_policy import PathPolicy

SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class Chunk:
    doc: str
    index: int
    text: str


def read_documents(path: Path, policy: PathPolicy, named_by: str = "documents") -> list[tuple[str, str]]:
    """(name, text) of the non-empty document files at `path` (a file, or a folder's markdown and text files sorted
    by name), each read through `policy`: the folder and every file must lead inside its root."""
    real = policy.contained(path, named_by)
    if not real.exists():
        raise InputError(f"{named_by}: {path} does not exist")
    if real.is_dir():
        files = [(f.name, f.path) for f in policy.files_under(path, named_by,
                                                               lambda name: Path(name).suffix.lower() in SUFFIXES)]
    else:
        files = [(path.name, path)]
    if not files:
        raise InputError(f"{named_by}: no {', '.join(SUFFIXES)} files under {path}")
    out = []
    for name, f in files:
        text = policy.read_text(f, named_by)
        if text.strip():
            out.append((name, text))
    if not out:
        raise InputError(f"documents: every file under {path} is empty")
    return out


def chunk_words(doc: str, text: str, size: int, overlap: int) -> list[Chunk]:
    """Chunks of at most `size` words cut on the document's structure (headings, paragraphs, sentences; tables and
    code blocks whole where they fit), each after the first starting with up to `overlap` words of the end of the
    one before, and the text kept as written. See `distill/io/chunking.py`."""
    return [Chunk(doc, i, body) for i, body in enumerate(chunk_text(text, size, overlap))]
