"""A server's refusal of the `tools` parameter is a refusal of the request's shape (the tool_use recipe's probe then
falls back to the text form), not an error to retry: llama.cpp's server without --jinja, vLLM without a tool
parser. The same words in the answer to a request without tools are no such refusal."""

from __future__ import annotations

from distill.providers.openai_refusals import refusal

TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
LLAMA_CPP = '{"error": {"code": 500, "message": "tools param requires --jinja flag", "type": "server_error"}}'
OLLAMA = '{"error": {"message": "registry.ollama.ai/library/gemma:2b does not support tools"}}'
VLLM = ('{"object": "error", "message": "\\"auto\\" tool choice requires --enable-auto-tool-choice and '
        '--tool-call-parser to be set", "type": "BadRequestError", "code": 400}')


def test_a_refusal_of_tools_names_the_tools_field():
    for status, body in ((500, LLAMA_CPP), (400, VLLM), (400, OLLAMA)):
        found = refusal(status, body, {"messages": [], "tools": TOOLS}, label="teacher x")
        assert found is not None and found.field == "tools", body
        assert "refused tools" in str(found)


def test_the_same_answer_to_a_request_without_tools_is_not_a_tools_refusal():
    invalid = ("{'type': 'literal_error', 'loc': ('body', 'messages', 1, 'ChatCompletionRequestToolMessage', "
               "'role'), 'msg': \"Input should be 'tool'\"}")  # a message the server could not read: no refusal
    assert refusal(500, invalid, {"messages": [], "tools": TOOLS}, label="teacher x") is None
    assert refusal(500, LLAMA_CPP, {"messages": []}, label="teacher x") is None
    assert refusal(429, LLAMA_CPP, {"messages": [], "tools": TOOLS}, label="teacher x") is None
