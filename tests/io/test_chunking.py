"""Document chunking on structure: headings, paragraphs and sentences; tables and code blocks whole where they
fit; the text exactly as written; no chunk ending mid-sentence when avoidable; no tiny last chunk."""

from __future__ import annotations

import re

from distill.io.documents import chunk_words

TABLE = """| station | rainfall (mm) | days of rain |
|---------|---------------|--------------|
| Lyon    | 830           | 112          |
| Nantes  | 820           | 118          |"""
CODE = """```python
def area(width, height):
    # indentation and blank lines inside code are kept

    return width * height
```"""
SENTENCES = ("The cooker is a wooden box with a glass lid. It reaches 150 degrees on a clear day. "
             "Bread bakes in about two hours. Rice takes longer and needs a lid. ")
DOC = f"""# Solar cooking

## How it works

{SENTENCES * 3}
{TABLE}

## Code

Compute the area of the reflector like this:

{CODE}

## Notes

- one reflector per box
- glass lids, never plastic
  (plastic warps)

{SENTENCES * 2}
"""


def _words(text):
    return text.split()


def test_tables_and_code_blocks_stay_whole_and_as_written():
    chunks = [c.text for c in chunk_words("d", DOC, 80, 0)]
    assert any(TABLE in c for c in chunks)
    assert any(CODE in c for c in chunks)  # indentation and the blank line inside the code survive
    assert all(c in DOC for c in chunks)  # every chunk is a slice of the document: nothing flattened
    assert any("- glass lids, never plastic\n  (plastic warps)" in c for c in chunks)


def test_chunks_respect_size_cover_the_text_and_end_on_sentences():
    for size in (30, 50, 80, 200):
        chunks = [c.text for c in chunk_words("d", DOC, size, 0)]
        assert all(len(_words(c)) <= size for c in chunks), size
        assert [w for c in chunks for w in _words(c)] == _words(DOC)  # in order, nothing lost or repeated
        for c in chunks[:-1]:  # a chunk ends at the end of a sentence, a table, a code block or a list item
            assert re.search(r"([.!?)|]|```|plastic)$", c.rstrip()), (size, c[-60:])


def test_no_chunk_ends_on_a_heading():
    for size in (20, 30, 45, 60):
        for c in chunk_words("d", DOC, size, 0):
            assert not c.text.rstrip().splitlines()[-1].startswith("#"), (size, c.text)


def test_no_one_word_last_chunk():
    # 2 x 40 words of sentences + 1: greedy cutting at 40 would leave "Done." alone
    text = ("Tides rise and fall twice a day along this coast. " * 8).strip() + " Done."
    assert len(_words(text)) == 81
    chunks = [c.text for c in chunk_words("d", text, 40, 0)]
    assert len(chunks) == 3 and min(len(_words(c)) for c in chunks) >= 10
    assert all(c.endswith(".") for c in chunks)


def test_a_table_larger_than_a_chunk_is_cut_by_rows_with_its_header():
    rows = "\n".join(f"| town {i} | {800 + i} | {100 + i} |" for i in range(30))
    table = "| station | rainfall (mm) | days of rain |\n|---|---|---|\n" + rows
    chunks = [c.text for c in chunk_words("d", table, 60, 0)]
    assert len(chunks) > 1
    for c in chunks:
        lines = c.splitlines()
        assert lines[0].startswith("| station") and lines[1] == "|---|---|---|"
        assert all(line.startswith("| town") for line in lines[2:])
    assert [line for c in chunks for line in c.splitlines()[2:]] == rows.splitlines()


def test_crlf_documents_chunk_like_lf_ones():
    crlf = DOC.replace("\n", "\r\n")
    assert [c.text for c in chunk_words("d", crlf, 50, 0)] == [c.text for c in chunk_words("d", DOC, 50, 0)]
