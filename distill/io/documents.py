"""User documents for grounded generation: a folder (or file) of markdown and plain text, read in a stable
order, and split into chunks on their structure (`chunking.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distill.errors import InputError
from distill.io.chunking import chunk_text

SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class Chunk:
    doc: str
    index: int
    text: str


def read_documents(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        raise InputError(f"documents: {path} does not exist")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not files:
        raise InputError(f"documents: no {', '.join(SUFFIXES)} files under {path}")
    out = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{f}: cannot read as UTF-8 text ({exc})") from None
        if text.strip():
            out.append((str(f.relative_to(path)) if path.is_dir() else f.name, text))
    if not out:
        raise InputError(f"documents: every file under {path} is empty")
    return out


def chunk_words(doc: str, text: str, size: int, overlap: int) -> list[Chunk]:
    """Chunks of at most `size` words cut on the document's structure (headings, paragraphs, sentences; tables and
    code blocks whole where they fit), each after the first starting with up to `overlap` words of the end of the
    one before, and the text kept as written. See `distill/io/chunking.py`."""
    return [Chunk(doc, i, body) for i, body in enumerate(chunk_text(text, size, overlap))]
