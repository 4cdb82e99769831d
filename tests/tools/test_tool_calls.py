"""Tool calls read from native replies and from the text of models without native tool calling, as they write it."""

from __future__ import annotations

import pytest

from distill.tools.calls import MAX_CALLS, ToolCall, from_anthropic, from_openai, from_text


def test_native_openai_calls_keep_ids_and_decode_arguments():
    calls = from_openai([
        {"id": "call_a", "type": "function",
         "function": {"name": "add_days", "arguments": '{"date": "2026-01-30", "days": 3}'}},
        {"id": "call_b", "type": "function", "function": {"name": "convert_mass", "arguments": "{not json"}},
    ])
    assert calls[0] == ToolCall(id="call_a", name="add_days", arguments={"date": "2026-01-30", "days": 3})
    assert calls[1].arguments == "{not json"  # kept as text: the format stage rejects it with its reason
    assert calls[0].openai()["function"]["arguments"] == '{"date": "2026-01-30", "days": 3}'


def test_native_anthropic_tool_use_blocks():
    calls = from_anthropic([{"type": "text", "text": "Let me check."},
                            {"type": "tool_use", "id": "toolu_1", "name": "days_between",
                             "input": {"start": "2026-01-01", "end": "2026-03-01"}}])
    assert calls == [ToolCall(id="toolu_1", name="days_between",
                              arguments={"start": "2026-01-01", "end": "2026-03-01"})]


@pytest.mark.parametrize("reply", [
    '<tool_call>\n{"name": "convert_length", "arguments": {"value": 5, "from_unit": "km", "to_unit": "mi"}}\n'
    '</tool_call>',
    'Sure! I will convert that for you.\n```json\n{"name": "convert_length", "arguments": {"value": 5, '
    '"from_unit": "km", "to_unit": "mi"}}\n```\nLet me know if you need anything else.',
    '{"function": "convert_length", "parameters": {"value": 5, "from_unit": "km", "to_unit": "mi"}}',
    '{"type": "function", "function": {"name": "convert_length", "arguments": "{\\"value\\": 5, \\"from_unit\\": '
    '\\"km\\", \\"to_unit\\": \\"mi\\"}"}}',
])
def test_the_forms_models_write_a_call_in(reply):
    assert from_text(reply) == [ToolCall(id="call_0", name="convert_length",
                                         arguments={"value": 5, "from_unit": "km", "to_unit": "mi"})]


def test_parallel_calls_in_a_list_or_in_several_blocks():
    listed = from_text('[{"name": "add_days", "arguments": {"date": "2026-02-27", "days": 2}}, '
                       '{"name": "add_days", "arguments": {"date": "2026-02-27", "days": 3}}]')
    tagged = from_text('<tool_call>{"name": "a", "arguments": {}}</tool_call>\n'
                       '<tool_call>{"name": "b", "arguments": {}}</tool_call>')
    assert [c.arguments["days"] for c in listed] == [2, 3] and [c.id for c in listed] == ["call_0", "call_1"]
    assert [c.name for c in tagged] == ["a", "b"]


@pytest.mark.parametrize("reply", [
    "The capital of France is Paris.",
    "<think>Maybe I should call a tool... {\"name\": \"x\"</think>No tool is needed: 2 + 2 = 4.",
    "```python\nprint('hello')\n```",
    '{"answer": "42"}',  # JSON, but no call in it
    "{" * 5000,
    "",
])
def test_an_answer_in_words_or_broken_json_is_no_call(reply):
    assert from_text(reply) == []


def test_a_flood_of_calls_is_bounded():
    reply = "[" + ", ".join('{"name": "f", "arguments": {}}' for _ in range(1000)) + "]"
    assert len(from_text(reply)) == MAX_CALLS


@pytest.mark.parametrize("reply", [
    "[" * 100_000,  # Python's decoder recurses: RecursionError
    "<tool_call>" + "[" * 20_000 + "</tool_call>",
    "```json\n" + '{"a": ' * 5_000 + "\n```",
])
def test_deeply_nested_json_is_no_call_and_no_crash(reply):
    assert from_text(reply) == []


def test_a_huge_number_or_nan_in_the_arguments_does_not_crash_the_reader():
    [huge] = from_text('{"name": "f", "arguments": {"x": ' + "9" * 5_000 + "}}")  # int() refuses 4,300+ digits
    assert huge.arguments == {"x": float("inf")}  # the format stage rejects it (test_tool_checks)
    [nan] = from_text('{"name": "f", "arguments": NaN}')
    assert nan.arguments == "null"  # not an object: arguments_not_object
