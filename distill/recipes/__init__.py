"""Recipes: one module each, declared in YAML under `recipes/`, looked up lazily in `registry.py`."""
