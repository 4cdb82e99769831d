"""Helpers several recipes use: the bootstrap window and instruction filters (self_instruct, alpaca); the readers
of a numbered list (self_instruct, lab), of question-answer pairs (knowledge_qa, lab), of a yes / no verdict
(self_instruct, tool_use) and of one rewritten text (evol_instruct, math_qa, self_improve); and the loader of user
code a recipe YAML names (the registry, tool_use, self_improve)."""
