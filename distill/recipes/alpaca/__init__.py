"""Alpaca (Stanford): the recipe (recipe.py), its options (options.py) and the reader of its `N. Instruction /
Input / Output` replies (parse.py); the bootstrap window and instruction filters it shares with self_instruct are
in recipes/shared/."""
