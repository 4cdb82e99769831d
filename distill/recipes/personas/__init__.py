"""Persona-driven tasks (PersonaHub): the recipe (recipe.py) and its options (options.py)."""
