"""The format and execution stages: each rejection reason from a call that fails it, and good calls run."""

from __future__ import annotations

import time

import pytest
from test_tool_catalog import _everyday

from distill.tools.calls import ToolCall
from distill.tools.catalog import function_tool
from distill.tools.checks import check_format, execute

TOOLS = {t.name: t for t in _everyday()}


def _call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(id="call_0", name=name, arguments=dict(arguments))


@pytest.mark.parametrize(("call", "reason", "detail"), [
    (_call("convert_lenght", value=1, from_unit="m", to_unit="ft"), "unknown_function", "convert_lenght"),
    (ToolCall(id="c", name="convert_length", arguments="{value: 1"), "arguments_not_object", "{value: 1"),
    (_call("convert_length", value="five", from_unit="m", to_unit="ft"), "bad_arguments", "value"),
    (_call("convert_length", value=5, from_unit="m"), "bad_arguments", "'to_unit' is a required property"),
    (_call("convert_length", value=5, from_unit="m", to_unit="parsec"), "bad_arguments", "to_unit"),
    (_call("convert_length", value=5, from_unit="m", to_unit="ft", precision=2), "bad_arguments", "precision"),
    (_call("days_between", start="2026-02-30", end="2026-03-01"), "bad_arguments", "start"),
    (_call("basket_total", items={"apple": 1.5}), "bad_arguments", "items/apple"),
])
def test_the_format_stage_names_what_is_wrong(call, reason, detail):
    found = check_format(call, TOOLS)
    assert found is not None and found[0] == reason and detail in found[1]


def test_a_well_formed_call_passes_the_format_stage_and_runs():
    call = _call("days_between", start="2026-01-01", end="2026-03-01")
    assert check_format(call, TOOLS) is None
    assert execute(call, TOOLS["days_between"], timeout=5).result == "59"
    basket = execute(_call("basket_total", items={"Apple": 4, "caviar": 1}), TOOLS["basket_total"], timeout=5)
    assert basket.result == '{"total": 2.0, "unknown_items": ["caviar"]}'


def test_a_call_that_raises_is_rejected_with_the_exception():
    found = execute(_call("basket_total", items={"milk": -2}), TOOLS["basket_total"], timeout=5)
    assert found.result is None and found.reason == "call_raised"
    assert found.detail == "basket_total raised ValueError: a quantity cannot be negative"


def test_a_call_that_hangs_is_abandoned_after_its_timeout():
    def slow(seconds: float) -> str:
        """Sleep."""
        time.sleep(seconds)
        return "done"

    found = execute(_call("slow", seconds=3), function_tool(slow, "test"), timeout=0.2)
    assert found.reason == "call_timed_out" and "0.2 s" in found.detail


def test_a_result_that_is_not_json_is_rejected():
    def opaque() -> object:
        """An object."""
        return object()

    assert execute(_call("opaque"), function_tool(opaque, "test"), timeout=5).reason == "result_not_json"


def test_a_number_too_large_to_be_finite_is_bad_arguments_not_a_call():
    call = ToolCall(id="c", name="convert_length", arguments={"value": float("inf"), "from_unit": "m", "to_unit": "ft"})
    found = check_format(call, TOOLS)
    assert found is not None and found[0] == "bad_arguments" and "not finite" in found[1]
