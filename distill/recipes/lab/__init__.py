"""LAB (taxonomy-guided synthetic data): the recipe (recipe.py), its options (options.py), its judges and their
keep rules (judges.py), and the readers of its generated contexts and questions (parse.py)."""
