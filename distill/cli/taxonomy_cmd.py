"""`distill taxonomy validate DIR`: the checks every LAB run makes, on their own."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("taxonomy", help="work with LAB taxonomies (validate)",
                       description="Commands for InstructLab-format taxonomies (qna.yaml leaves).")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    v = verbs.add_parser("validate", help="check every qna.yaml leaf and its documents",
                         description="Validate a taxonomy exactly as `distill run` does for the lab recipe: schema, "
                                     "minimum seed examples, duplicates, grounding, and that knowledge documents "
                                     "can be read. Every problem is listed as file:line: rule: message. Every file "
                                     "the taxonomy names must lead inside the files root (after `..` and symlinks), "
                                     "as in `distill run`.")
    v.add_argument("root", type=Path)
    v.add_argument("--files-root", type=Path, default=None, metavar="DIR",
                   help="the folder every qna.yaml and document must lead inside (a run's `files_root:`); default: "
                        "the folder holding the taxonomy, where a recipe naming it as `taxonomy: NAME` sits")
    v.set_defaults(handler=handle)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def handle(args: argparse.Namespace) -> int:
    from distill.io.path_policy import PathPolicy
    from distill.taxonomy.validate import load_taxonomy

    files_root = args.files_root or args.root.absolute().parent
    policy = PathPolicy(files_root, named_by="--files-root", widen="give a wider --files-root DIR")
    leaves = load_taxonomy(args.root, policy, named_by="taxonomy validate")
    for leaf in leaves:
        n = len(leaf.seeds) if leaf.seeds else sum(len(k.qa) for k in leaf.knowledge)
        docs = f", {len(leaf.documents)} document(s)" if leaf.kind == "knowledge" else ""
        print(f"ok  {leaf.path}  ({leaf.kind}, {n} seed Q/A{docs})")
    print(f"{args.root}: {len(leaves)} leaves valid")
    return 0
