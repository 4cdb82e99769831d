"""Math QA: the recipe (recipe.py: augment, solve, vote, verify) and the readers of a new problem and of a
solution's final answer (parse.py)."""
