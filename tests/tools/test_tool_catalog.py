"""Tools from a user's typed Python functions or a JSON file of OpenAI-style schemas; bad ones named at the edge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ROOT

from distill.errors import InputError
from distill.recipes.shared.user_code import load_reference
from distill.tools.catalog import tools_from_json, tools_from_python

EVERYDAY = ROOT / "recipes" / "tools" / "everyday.py"


def _everyday() -> list:
    found = load_reference("tools/everyday.py:TOOLS", "r.yaml: tools", ROOT / "recipes", "distill_tools",
                           lambda v: isinstance(v, list), "a list")
    return tools_from_python(found, "r.yaml: tools")


def test_the_shipped_tools_have_schemas_from_their_signatures_and_docstrings():
    tools = {t.name: t for t in _everyday()}
    assert set(tools) == {"convert_length", "convert_mass", "convert_temperature", "days_between", "add_days",
                          "basket_total"}
    temp = tools["convert_temperature"].openai()["function"]
    assert temp["description"] == "Convert a temperature between Celsius (C), Fahrenheit (F) and Kelvin (K)."
    props = temp["parameters"]["properties"]
    assert props["from_unit"]["enum"] == ["C", "F", "K"] and props["value"]["type"] == "number"
    assert props["value"]["description"] == "the temperature to convert"
    assert temp["parameters"]["required"] == ["value", "from_unit", "to_unit"]
    assert tools["days_between"].parameters["properties"]["start"]["format"] == "date"
    basket = tools["basket_total"].parameters["properties"]["items"]
    assert basket["type"] == "object" and basket["additionalProperties"] == {"type": "integer"}
    assert "title" not in json.dumps(temp)  # pydantic's titles only repeat the names


def test_a_function_a_json_call_cannot_fill_is_refused_with_its_name(tmp_path):
    def no_hint(x):  # type: ignore[no-untyped-def]
        return x

    def star(*values: int) -> int:
        return sum(values)

    with pytest.raises(InputError, match=r"no_hint\(\) parameter 'x' needs a type hint"):
        tools_from_python([no_hint], "r.yaml: tools")
    with pytest.raises(InputError, match="named arguments only"):
        tools_from_python(star, "r.yaml: tools")
    with pytest.raises(InputError, match="expected a function"):
        tools_from_python(42, "r.yaml: tools")


def _write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_a_json_file_of_openai_tools_loads_in_either_form(tmp_path):
    weather = {"name": "get_weather", "description": "Weather now",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    tools = tools_from_json(_write(tmp_path / "t.json", [{"type": "function", "function": weather},
                                                         {**weather, "name": "get_forecast"}]), "r.yaml: tools")
    assert [t.name for t in tools] == ["get_weather", "get_forecast"]
    assert tools[0].function is None  # schema only: its results are simulated
    assert tools[0].openai() == {"type": "function", "function": weather}


@pytest.mark.parametrize(("content", "message"), [
    ("[", "not JSON"),
    ([], "non-empty list"),
    ([{"description": "no name"}], r"tool 1: name: Field required"),
    ([{"name": "bad name!"}], "tool 1: name"),
    ([{"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integr"}}}}],
     r"tool 1 \(f\): parameters: not a valid JSON schema"),
    ([{"name": "f", "parameters": {"type": "string"}}], "must be of type \"object\""),
    ([{"name": "f"}, {"name": "f"}], "two tools are named 'f'"),
])
def test_a_bad_tool_file_names_the_file_the_tool_and_the_key(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(InputError, match=message) as info:
        tools_from_json(path, "r.yaml: tools")
    assert str(info.value).startswith(f"r.yaml: tools: {path}")
