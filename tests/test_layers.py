"""Import layering: every import between distill's modules points one way, downward, and none goes round.

Floors, bottom to top; a module may import any module on its own floor or a lower one, never a higher one, and
no chain of imports may come back to where it started (within a floor, within a package, anywhere). The floor
of a module is that of the longest name in the table that is it or a package holding it.

 0 foundation: errors, secrets, redact, yaml_source, prompts, hub_names and the `distill` package itself
   (`__version__`): what every other module may need to fail, mask, locate a YAML line or load a template.
 1 io: reading files (JSONL, documents, seed tasks, inputs) and the path policy; it knows nothing of models.
 2 text and tools: text measures and checks (dedup, decontamination, artefacts); decontamination reads its
   reference sets through io. tools: the tools a tool-use recipe offers, how a call is read and checked.
 3 providers: one model endpoint each, the keys a provider takes (its spec) and the `batch:` setting on it;
   providers read replies with text's helpers.
 4 engine and batch: the engine makes a provider's calls (cache, retries, limits, usage, the Teacher); batch
   is the engine's second way of answering a call: the Teacher hands its calls to the batch dispatcher, which
   answers them from the engine's cache and usage. One floor, so both arrows are allowed; a cycle is not.
 5 quality: judges, reward models and the gate, grading through Teachers. `run.guard` and `run.reply_guard`
   stand here: the judge and the reward model read their replies inside them (they are filed under run/
   because recipes open them through the run context).
 6 executors: where the calls run (in process, Ray actors); an in-process reward model comes from quality.
 7 taxonomy: what the lab recipe builds on; it needs io and providers only.
 8 config and overrides: the run config assembles each package's own section spec (ProviderSpec, QualitySpec,
   ExecutorSpec, the path policy); overrides applies `--set` to it with the providers' short forms.
 9 run: the run folder, the context a recipe's stages run in, records, outcomes, progress, and the multi-turn
   stage (`run.multi_turn`) the context runs for every recipe when `turns:` > 1.
10 report, publish and train: read a finished run folder (the report), turn it into a card and a Hub upload, or
   fine-tune a student on its records; a failed training stops a run as a recipe's error does (run).
11 recipes and eval: the stages of each recipe, written against the run context; a recipe may build on taxonomy,
   train and the card's own lines (self_improve). eval measures models on held-out questions (verifiers,
   judges, format constraints); self_improve measures its iterations with it, and eval loads a function
   verifier as a recipe loads user code.
12 driving a run: `run.runner`, `run.dry_run` and `run.fingerprint` pick the recipe a config names, run it,
   then write the report and the card: above recipes, report and publish; `run.pilot` measures a pilot's run.
13 cli: the commands.

Module-level and function-level imports both count (a lazy import is still an arrow). Imports under
`if TYPE_CHECKING:` do not: they never run, and a type named in an annotation is no dependency at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "distill"

FLOORS: list[tuple[str, ...]] = [
    ("distill", "distill.errors", "distill.secrets", "distill.redact", "distill.yaml_source", "distill.prompts",
     "distill.hub_names"),
    ("distill.io",),
    ("distill.text", "distill.tools"),
    ("distill.providers",),
    ("distill.engine", "distill.batch"),
    ("distill.quality", "distill.run.guard", "distill.run.reply_guard"),
    ("distill.executors",),
    ("distill.taxonomy",),
    ("distill.config", "distill.overrides"),
    ("distill.run",),
    ("distill.report", "distill.publish", "distill.train"),
    ("distill.recipes", "distill.eval"),
    ("distill.run.runner", "distill.run.dry_run", "distill.run.fingerprint", "distill.run.pilot"),
    ("distill.cli",),
]


def module_files() -> dict[str, Path]:
    """Every distill module by its dotted name (a package by its own name, for its __init__.py)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_names(path: Path, package: str) -> list[tuple[str, int]]:
    """The dotted names a module's imports load, with their lines, outside `if TYPE_CHECKING:` blocks: `a.b`
    for `import a.b` and for `from a import b` (where b may be a module or a name defined in a)."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for stmt in child.orelse:
                    visit_one(stmt)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
        visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


def arrows() -> dict[str, dict[str, int]]:
    """Module -> the distill modules it imports, each with the first line that does. A dotted name that is not
    a module (`distill.errors.InputError`) stands for the module that defines it: its longest module prefix."""
    files = module_files()
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: dict[str, int] = {}
        for dotted, line in imported_names(path, package):
            target = dotted
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.setdefault(target, line)
        graph[name] = targets
    return graph


def floor_of(module: str) -> int:
    best, floor = "", -1
    for index, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, floor = prefix, index
    return floor


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (as a closed chain of modules) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.add(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_closed_chain(graph, group) for group in groups]


def _closed_chain(graph: dict[str, dict[str, int]], group: set[str]) -> list[str]:
    """The shortest chain from the group's first module back to itself, inside the group (breadth first)."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    chain = [node]
                    while chain[-1] != start:
                        chain.append(came_from[chain[-1]])
                    return [start, *reversed(chain[:-1]), start] if len(chain) > 1 else [start, node, start]
                if nxt in group and nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def _shown(graph: dict[str, dict[str, int]], chain: list[str]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(chain, chain[1:], strict=False)) + \
        f" -> {chain[-1]}"


def test_every_module_has_a_floor():
    assert [m for m in module_files() if floor_of(m) < 0] == []


def test_no_import_cycle():
    graph = arrows()
    found = [_shown(graph, chain) for chain in cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_every_import_points_down():
    graph = arrows()
    upward = [f"{a} (floor {floor_of(a)}) imports {b} (floor {floor_of(b)}) at line {line}"
              for a, targets in sorted(graph.items()) for b, line in sorted(targets.items())
              if floor_of(b) > floor_of(a)]
    assert not upward, "imports from a lower floor to a higher one:\n" + "\n".join(upward)


def test_the_checks_see_a_lazy_import_and_skip_type_checking(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from distill.cli import main\n"
                      "def f():\n    from distill.errors import InputError\n")
    assert ("distill.errors.InputError", 5) in imported_names(source, "distill")
    assert not [n for n, _ in imported_names(source, "distill") if n.startswith("distill.cli")]
    assert cycles({"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}) == [["a", "b", "c", "a"]]
    assert floor_of("distill.run.runner") > floor_of("distill.recipes.base") > floor_of("distill.run.context")
