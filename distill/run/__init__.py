"""A run folder and the context a recipe runs in."""
