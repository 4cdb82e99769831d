"""Recipes, declared in YAML under `recipes/` and looked up lazily in `registry.py` (name -> `module:Class`).

A recipe is a package: `<name>/recipe.py` (the Recipe class and its stages), `<name>/options.py` (its YAML
`options:`), and what only it reads (`parse.py`, `judges.py`, `elimination.py`, ...). What several recipes use is
in `shared/`. `base.py` is the contract every recipe implements. (self_improve, its helpers and tool_use are still
single modules here.)"""
