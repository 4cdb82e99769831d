"""Persona-driven tasks (PersonaHub): the recipe (recipe.py)."""
