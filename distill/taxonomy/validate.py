"""Reading and validating a taxonomy tree. Every problem is reported as `file:line: rule: message`, all of them
at once; `distill taxonomy validate` and every LAB run use this same function.

Rules: yaml (parses, top-level mapping), version (2 or 3), unknown_key, required (created_by, task_description or
domain/document_outline/document, seed_examples), type (non-empty strings), min_seed_examples (5), min_qa (3 Q/A
per knowledge context), duplicate_seed (within a leaf), mixed_grounding (a skill leaf whose seeds are partly
grounded), duplicate_leaf (two leaves with the same seed questions), document (unreadable or missing documents),
empty_taxonomy.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from distill.errors import InputError
from distill.io.path_policy import PathPolicy
from distill.taxonomy.documents import DocumentError, resolve_documents
from distill.taxonomy.model import KnowledgeSeed, Leaf, SeedQA
from distill.yaml_source import YamlSource

TOP = ("knowledge", "compositional_skills", "foundational_skills")
SKILL_KEYS = {"version", "created_by", "task_description", "seed_examples"}
KNOWLEDGE_KEYS = {"version", "created_by", "domain", "document_outline", "seed_examples", "document"}
MIN_SEEDS = 5
MIN_QA = 3


class _Leaf:
    def __init__(self, src: YamlSource, rel: str, errors: list[str]) -> None:
        self.src, self.rel, self.errors = src, rel, errors

    def err(self, loc: tuple[Any, ...], rule: str, msg: str) -> None:
        self.errors.append(f"{self.src.where(loc)}: {rule}: {msg}")

    def text(self, obj: Any, key: str, loc: tuple[Any, ...]) -> str | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        if value is None:
            self.err(loc, "required", f"`{key}` is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            self.err(loc + (key,), "type", f"`{key}` must be a non-empty string")
            return None
        return value.strip()


def load_taxonomy(root: Path, policy: PathPolicy, *, named_by: str = "taxonomy",
                  resolve_docs: bool = True) -> list[Leaf]:
    """All valid leaves under `root`, or InputError listing every problem found. Every file read — the leaves and
    their documents — is read through `policy`: the taxonomy folder (`named_by` names the key or argument that
    gave it), each qna.yaml and each document must lead inside its root."""
    if not policy.contained(root, named_by).is_dir():
        raise InputError(f"{named_by}: {root} is not a folder")
    errors: list[str] = []
    leaves: list[Leaf] = []
    try:
        found = policy.files_under(root, named_by, lambda name: fnmatch.fnmatch(name.rsplit("/", 1)[-1], "qna.y*ml"))
    except InputError as exc:
        raise InputError(f"taxonomy {root}: {exc}") from None
    files = [f.path for f in found if f.path.name == "qna.yaml" and f.path.relative_to(root).parts[0] in TOP]
    for stray in found:
        if stray.path.name != "qna.yaml":
            errors.append(f"{stray.path}: file_name: leaves must be named exactly qna.yaml")
    for f in files:
        leaf = _leaf(root, f, errors, resolve_docs, policy)
        if leaf is not None:
            leaves.append(leaf)
    seen: dict[tuple[str, ...], str] = {}
    for leaf in leaves:
        key = tuple(sorted(s.question for s in leaf.seeds) + sorted(q.question for k in leaf.knowledge for q in k.qa))
        if key in seen:
            errors.append(f"{leaf.file}:1: duplicate_leaf: same seed questions as {seen[key]}")
        seen.setdefault(key, str(leaf.file))
    if not files and not errors:
        errors.append(f"{root}: empty_taxonomy: no qna.yaml under {', '.join(t + '/' for t in TOP)}")
    if errors:
        raise InputError(f"taxonomy {root}: {len(errors)} problem(s)\n" + "\n".join(errors))
    return leaves


def _leaf(root: Path, f: Path, errors: list[str], resolve_docs: bool, policy: PathPolicy) -> Leaf | None:
    before = len(errors)
    try:
        src = YamlSource.load(f)
    except InputError as exc:
        errors.append(f"{exc}".replace("invalid YAML", "yaml: invalid YAML"))
        return None
    rel = str(f.parent.relative_to(root))
    v = _Leaf(src, rel, errors)
    data = src.data
    kind_top = rel.split("/")[0]
    is_knowledge = kind_top == "knowledge"
    version = data.get("version")
    if version not in (2, 3):
        v.err(("version",), "version", f"version must be 2 or 3 (got {version!r})")
    allowed = KNOWLEDGE_KEYS if is_knowledge else SKILL_KEYS
    for key in data:
        if key not in allowed:
            v.err((key,), "unknown_key", f"`{key}` is not a {('knowledge' if is_knowledge else 'skill')} key "
                                         f"(allowed: {', '.join(sorted(allowed))})")
    created_by = v.text(data, "created_by", ())
    seeds = data.get("seed_examples")
    if not isinstance(seeds, list):
        v.err(("seed_examples",), "required", "`seed_examples` must be a list")
        return None
    if len(seeds) < MIN_SEEDS:
        v.err(("seed_examples",), "min_seed_examples", f"{len(seeds)} seed examples; at least {MIN_SEEDS} needed")
    leaf = Leaf(path=rel, file=f, kind="knowledge" if is_knowledge else "freeform", created_by=created_by or "",
                task="")
    if is_knowledge:
        leaf.task = v.text(data, "domain", ()) or ""
        leaf.outline = v.text(data, "document_outline", ()) or ""
        _knowledge_seeds(v, seeds, leaf)
        doc = data.get("document")
        if not isinstance(doc, dict) or not isinstance(doc.get("repo"), str) or not doc.get("patterns"):
            v.err(("document",), "required", "`document` needs `repo` and `patterns` (and `commit` for a git repo)")
        elif resolve_docs and len(errors) == before:
            try:
                leaf.documents = resolve_documents(doc["repo"], doc.get("commit"), list(doc["patterns"]), f.parent,
                                                   policy)
            except (DocumentError, InputError) as exc:
                v.err(("document",), "document", str(exc))
    else:
        leaf.task = v.text(data, "task_description", ()) or ""
        _skill_seeds(v, seeds, leaf)
    return leaf if len(errors) == before else None


def _skill_seeds(v: _Leaf, seeds: list[Any], leaf: Leaf) -> None:
    seen: set[str | None] = set()
    grounded = []
    for i, s in enumerate(seeds):
        loc = ("seed_examples", i)
        q, a = v.text(s, "question", loc), v.text(s, "answer", loc)
        ctx = s.get("context") if isinstance(s, dict) else None
        grounded.append(ctx is not None)
        if ctx is not None and (not isinstance(ctx, str) or not ctx.strip()):
            v.err(loc + ("context",), "type", "`context` must be a non-empty string when present")
        if q is not None and q in seen:
            v.err(loc + ("question",), "duplicate_seed", f"question repeated: {q[:60]!r}")
        seen.add(q)
        if q and a:
            leaf.seeds.append(SeedQA(q, a, ctx if isinstance(ctx, str) else None))
    if any(grounded) and not all(grounded):
        v.err(("seed_examples",), "mixed_grounding", "either every seed example has a `context` (grounded skill) "
                                                     "or none has (freeform skill)")
    leaf.kind = "grounded" if grounded and all(grounded) else "freeform"


def _knowledge_seeds(v: _Leaf, seeds: list[Any], leaf: Leaf) -> None:
    seen = set()
    for i, s in enumerate(seeds):
        loc = ("seed_examples", i)
        ctx = v.text(s, "context", loc)
        qas = s.get("questions_and_answers") if isinstance(s, dict) else None
        if not isinstance(qas, list) or len(qas) < MIN_QA:
            v.err(loc + ("questions_and_answers",), "min_qa", f"each context needs at least {MIN_QA} "
                                                              "questions_and_answers")
            continue
        pairs = []
        for j, qa in enumerate(qas):
            q, a = v.text(qa, "question", loc + ("questions_and_answers", j)), v.text(
                qa, "answer", loc + ("questions_and_answers", j))
            if q in seen:
                v.err(loc + ("questions_and_answers", j), "duplicate_seed", f"question repeated: {str(q)[:60]!r}")
            seen.add(q)
            if q and a:
                pairs.append(SeedQA(q, a, ctx))
        if ctx:
            leaf.knowledge.append(KnowledgeSeed(ctx, tuple(pairs)))



