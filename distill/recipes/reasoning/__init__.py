"""Reasoning distillation (issue #31): the recipe (recipe.py), its options (options.py), the checks of one trace
(checks.py) and the choice of traces per question with its difficulty figures (selection.py)."""
