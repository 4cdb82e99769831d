"""User documents for grounded generation: a folder (or file) of markdown and plain text, read in a stable
order, and split into overlapping word chunks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distill.errors import InputError

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
    """Chunks of at most `size` words, each starting `size - overlap` words after the previous one."""
    words = text.split()
    step = max(1, size - overlap)
    chunks: list[Chunk] = []
    start = 0
    while start < len(words):
        chunks.append(Chunk(doc, len(chunks), " ".join(words[start:start + size])))
        if start + size >= len(words):
            break
        start += step
    return chunks
