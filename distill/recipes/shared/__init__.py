"""Helpers several recipes use: the bootstrap window and instruction filters (self_instruct, alpaca), the reader
of one rewritten text (evol_instruct, math_qa, self_improve) and the loader of user code a recipe YAML names
(the registry, tool_use, self_improve)."""
