"""Self-Instruct: the recipe (recipe.py), its options (options.py) and the readers of its numbered task lists,
generated instances and classification verdicts (parse.py); the bootstrap window and instruction filters it
shares with alpaca are in recipes/shared/."""
