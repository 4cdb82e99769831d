"""Magpie: the recipe (recipe.py), its options (options.py), the pre-query prefix read from the model's chat
template (pre_query.py) and the chat template a user names for a teacher that cannot render its own
(chat_templates.py)."""
