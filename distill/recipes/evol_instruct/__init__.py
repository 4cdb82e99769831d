"""Evol-Instruct (WizardLM): the recipe (recipe.py), its options (options.py), its model calls and their reply
models (stages.py), its operation sets and the prompt each sends (operations.py), and the elimination rules that
drop an evolution or an answer (elimination.py)."""
