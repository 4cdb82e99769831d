"""Every regex the package runs on model (or server) text, found in the source, and adversarial inputs for it.

`inventory()` scans the modules under SCANNED with `ast`: each `re.compile/search/match/fullmatch/findall/
finditer/sub/subn/split` call, and each compiled pattern a module holds (also in a list, tuple or dict). A
pattern written as an f-string is evaluated with the module's globals; one that reads a function's locals must
have sample locals in DYNAMIC, or be in EXEMPT with the reason. A call site in neither fails the inventory, so a
new parser cannot slip past the linearity suite.

`adversarial(pattern)` builds inputs of any length from the pattern itself: long runs of whitespace, newlines
and the pattern's own literal pieces, and for every repetition in the pattern a prefix that reaches it
followed by a long run of each character the repetition accepts (the "< no" + spaces shape of issue 29).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("distill",)  # every module: a pattern that moves (as the verifiers did, into distill/eval/) stays checked
RE_CALLS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}
USES = RE_CALLS - {"compile"}

# call sites whose pattern is built from a function's locals: the locals to build it with
DYNAMIC: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("distill/text/reply_text.py", "plain_labels"): [
        {"labels": labels} for labels in ("instruction|input|output|task|item|example", "context",
                                          "q|a|question|answer", "example|instance|input|output|class label|label")],
    ("distill/recipes/shared/instruction_filters.py", "instruction_rejection"): [
        {"word": word} for word in ("image", "graph", "draw a picture", "go to")],
    ("distill/providers/bounded_body.py", "field"): [{"name": "custom_id"}],
    ("distill/eval/ifeval.py", "_has_word"): [{"word": word} for word in ("python", "C++", "a.b", "deep learning")],
}
# call sites that run a pattern the user wrote in the run's config, on purpose
EXEMPT = {
    ("distill/eval/verifiers.py", "_complete"): "compiles the user's verifier.pattern to validate it",
    ("distill/eval/verifiers.py", "check"): "the user's own verifier.pattern (kind: regex)",
    ("distill/secrets.py", "register"): "an alternation of the escaped secret values: literals, linear in the text",
}


@dataclass
class Found:
    """One regex: where it is, and how the code calls it (`search`, `match`, ... ; search when unknown)."""
    where: str
    pattern: re.Pattern[str]
    uses: set[str] = field(default_factory=set)


def scanned_files() -> list[Path]:
    """The modules under SCANNED (a folder's, its packages' included; or one file)."""
    paths = [ROOT / where for where in SCANNED]
    return [file for path in paths for file in ([path] if path.is_file() else sorted(path.rglob("*.py")))]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _flags(node: ast.expr | None, env: dict[str, Any]) -> int:
    if node is None:
        return 0
    return int(eval(compile(ast.Expression(node), "<flags>", "eval"), env))  # noqa: S307 - our own source


def _functions(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """(node, name of the innermost enclosing function or "<module>") for every node."""
    def walk(node: ast.AST, fn: str) -> Iterator[tuple[ast.AST, str]]:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            yield child, name
            yield from walk(child, name)
    return walk(tree, "<module>")


def _used_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _used_name(node.value)
    return None


def _build(source: ast.expr, flags: ast.expr | None, env: dict[str, Any], samples: list[dict[str, Any]]
           ) -> list[re.Pattern[str]]:
    """The pattern(s) a call site compiles: from the module's globals, else once per sample of locals."""
    out = []
    for local in samples or [{}]:
        scope = {**env, **local}
        text = eval(compile(ast.Expression(source), "<pattern>", "eval"), scope)  # noqa: S307 - our own source
        out.append(re.compile(text, _flags(flags, scope)))
    return out


def inventory() -> tuple[list[Found], list[str]]:
    """(every regex found, call sites that could not be built: a failure to report)."""
    found: list[Found] = []
    unknown: list[str] = []
    uses_by_name: dict[str, set[str]] = {}
    attrs: list[tuple[str, str, re.Pattern[str]]] = []
    for path in scanned_files():
        rel = str(path.relative_to(ROOT))
        module = importlib.import_module(_module_name(path))
        env = {**vars(module), "re": re}
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, fn in _functions(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            method = node.func.attr
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and method in RE_CALLS:
                if not node.args:
                    continue
                flags_node = node.args[-1] if method in ("compile",) and len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "flags"), None)
                if flags_node is None and method in ("search", "match", "fullmatch", "findall", "finditer",
                                                     "split") and len(node.args) > 2:
                    flags_node = node.args[2]
                key = (rel, fn)
                if key in EXEMPT or (fn == "<module>" and method == "compile"):
                    continue  # a module's compiled patterns are read from the module below, with their names
                try:
                    patterns = _build(node.args[0], flags_node, env, DYNAMIC.get(key, []))
                except NameError:
                    if fn != "<module>":  # at module level: a comprehension, its patterns are held below
                        unknown.append(f"{rel}:{node.lineno} ({fn}): pattern built from locals; add sample "
                                       "locals to DYNAMIC in tests/regex_probe.py")
                    continue
                found += [Found(f"{rel}:{node.lineno}", p, set() if method == "compile" else {method})
                          for p in patterns]
            elif method in USES:
                name = _used_name(node.func.value)
                if name:
                    uses_by_name.setdefault(name, set()).add(method)
        for name, value in vars(module).items():
            values = value if isinstance(value, (list, tuple)) else list(value.values()) if isinstance(
                value, dict) else [value]
            for v in values:
                if isinstance(v, re.Pattern) and isinstance(v.pattern, str):
                    attrs.append((f"{rel}:{name}", name, v))
    by_source: dict[tuple[str, int], Found] = {}
    for f in found + [Found(where, p, set(uses_by_name.get(name, set()))) for where, name, p in attrs]:
        same = by_source.setdefault((f.pattern.pattern, f.pattern.flags), f)
        same.uses |= f.uses
    out = list(by_source.values())
    for f in out:
        f.uses &= USES
        if not f.uses:
            f.uses = {"search"}
    return out, unknown


# --- adversarial inputs ---------------------------------------------------------------------------------

POOL = " \t\n\r\x0baZz019.,:;-_*#/!?<>\"'()[]{}$=`~&|+%@^\\\u2019\u201c\u2014\u00a0"


def _accepts(node: tuple[Any, Any], flags: int) -> str:
    """The characters of POOL that a one-character node (a literal, a class, `.`) matches."""
    state = P.State()
    state.flags = flags
    sub = P.SubPattern(state, [node])
    compiled = _compile(sub, flags)
    op, av = node
    own = chr(av) if op in (C.LITERAL, C.NOT_LITERAL) else "".join(
        chr(v if t == C.LITERAL else v[0]) for t, v in av if t in (C.LITERAL, C.RANGE)) if op == C.IN else ""
    return "".join(c for c in dict.fromkeys(own + POOL) if compiled.fullmatch(c))


def _compile(sub: Any, flags: int) -> re.Pattern[str]:
    from re import _compiler  # type: ignore[attr-defined]

    return _compiler.compile(sub, flags)  # type: ignore[no-any-return]


def _pumps(accepted: str) -> str:
    """A few of the characters a repetition accepts: a space, a newline, then the others (at most four)."""
    first = [c for c in " \n" if c in accepted]
    rest = [c for c in accepted if c not in " \t\n\r\x0b\u00a0"]
    return "".join((first + rest)[:4]) or accepted[:1]


ONE_CHAR = {C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY}


def _sample(items: Any, flags: int) -> str:
    """A short string the sequence of nodes matches (branches take their first way, repeats their minimum)."""
    out = []
    for op, av in items:
        if op in ONE_CHAR:
            chars = _accepts((op, av), flags)
            out.append(chars[5] if op == C.ANY else (chars[:1] or "a"))
        elif op == C.BRANCH:
            out.append(_sample(av[1][0], flags))
        elif op == C.SUBPATTERN:
            out.append(_sample(av[3], flags))
        elif op == C.ATOMIC_GROUP:
            out.append(_sample(av, flags))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            out.append(_sample(av[2], flags) * min(av[0], 3))
    return "".join(out)


def _repeats(items: Any, prefix: str, flags: int) -> Iterator[tuple[str, str]]:
    """(a prefix that reaches the repetition, a piece the repetition takes) for every repetition, in every
    branch; one-character repetitions give one piece per character they accept."""
    items = list(items)
    for k, (op, av) in enumerate(items):
        before = prefix + _sample(items[:k], flags)
        if op == C.BRANCH:
            for way in av[1]:
                yield from _repeats(way, before, flags)
        elif op == C.SUBPATTERN:
            yield from _repeats(av[3], before, flags)
        elif op == C.ATOMIC_GROUP:
            yield from _repeats(av, before, flags)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            body = list(av[2])
            if len(body) == 1 and body[0][0] in ONE_CHAR:
                for c in _pumps(_accepts(body[0], flags)):
                    yield before, c
            else:
                yield before, _sample(body, flags) or " "
                yield from _repeats(body, before, flags)


def _literals(items: Any) -> Iterator[str]:
    """The pattern's literal pieces: each run of literal characters in any sequence."""
    run: list[str] = []
    for op, av in items:
        if op == C.LITERAL:
            run.append(chr(av))
            continue
        if run:
            yield "".join(run)
            run = []
        if op == C.BRANCH:
            for way in av[1]:
                yield from _literals(way)
        elif op == C.SUBPATTERN:
            yield from _literals(av[3])
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT, C.ATOMIC_GROUP):
            yield from _literals(av[2] if op != C.ATOMIC_GROUP else av)
    if run:
        yield "".join(run)


def _pumped(prefix: str, piece: str, tail: str) -> Callable[[int], str]:
    return lambda n: prefix + piece * max(1, (n - len(prefix)) // len(piece)) + tail


def adversarial(pattern: re.Pattern[str]) -> dict[str, Callable[[int], str]]:
    """name -> a function of n building an input of about n characters."""
    parsed = P.parse(pattern.pattern, pattern.flags)
    flags = parsed.state.flags
    inputs: dict[str, Callable[[int], str]] = {}
    for run in (" ", "\n", "\t", " \n", "\n\n ", "\r\n", "\u00a0"):
        inputs[f"run {run!r}"] = _pumped("", run, "")
    for lit in set(_literals(parsed)):
        for sep in ("", " ", "\n"):
            inputs[f"literal {lit + sep!r} repeated"] = _pumped("", lit + sep, "")
        inputs[f"literal {lit!r} then spaces"] = _pumped(lit, " ", "\x01")
    whole = _sample(parsed, flags)
    if whole:
        inputs[f"sample {whole!r} repeated"] = _pumped("", whole, "")
        inputs[f"sample {whole!r} newline repeated"] = _pumped("", whole + "\n", "")
    for prefix, piece in _repeats(parsed, "", flags):
        for tail in ("", "\x01"):
            inputs[f"{prefix!r} + {piece!r} * n + {tail!r}"] = _pumped(prefix, piece, tail)
    return inputs
