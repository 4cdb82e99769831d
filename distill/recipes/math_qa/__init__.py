"""Math QA: the recipe (recipe.py: augment, solve, vote, verify), its options (options.py) and the readers of a
new problem and of a solution's final answer (parse.py)."""
