"""Grounded QA from your documents: the recipe (recipe.py), its options (options.py), and the readers of its
`Q1 [kind]: ... / A1: ...` replies and the check judge's verdicts, with the verbatim-quote check (parse.py)."""
