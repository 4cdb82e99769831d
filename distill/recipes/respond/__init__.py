"""Respond: answer each input row with the teacher (recipe.py), with its options (options.py)."""
