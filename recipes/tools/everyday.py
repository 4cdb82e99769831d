"""Everyday tools for the tool_use recipe: small, deterministic functions a teacher can call and distill can run.

Each tool's JSON schema comes from its signature and docstring (distill/tools/signature.py)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

_LENGTH_M = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "yd": 0.9144,
             "mi": 1609.344}
_MASS_KG = {"g": 0.001, "kg": 1.0, "oz": 0.028349523125, "lb": 0.45359237}

PRICES = {"apple": 0.5, "bread": 2.25, "coffee": 7.8, "eggs": 3.1, "milk": 1.2, "rice": 2.9, "tea": 4.4}


def convert_length(value: float, from_unit: Literal["mm", "cm", "m", "km", "in", "ft", "yd", "mi"],
                   to_unit: Literal["mm", "cm", "m", "km", "in", "ft", "yd", "mi"]) -> float:
    """Convert a length from one unit to another.

    Args:
        value: the length to convert
        from_unit: the unit the value is in
        to_unit: the unit to convert to
    """
    return round(value * _LENGTH_M[from_unit] / _LENGTH_M[to_unit], 6)


def convert_mass(value: float, from_unit: Literal["g", "kg", "oz", "lb"],
                 to_unit: Literal["g", "kg", "oz", "lb"]) -> float:
    """Convert a mass (weight) from one unit to another.

    Args:
        value: the mass to convert
        from_unit: the unit the value is in
        to_unit: the unit to convert to
    """
    return round(value * _MASS_KG[from_unit] / _MASS_KG[to_unit], 6)


def convert_temperature(value: float, from_unit: Literal["C", "F", "K"], to_unit: Literal["C", "F", "K"]) -> float:
    """Convert a temperature between Celsius (C), Fahrenheit (F) and Kelvin (K).

    Args:
        value: the temperature to convert
        from_unit: the scale the value is on
        to_unit: the scale to convert to
    """
    celsius = {"C": value, "F": (value - 32) * 5 / 9, "K": value - 273.15}[from_unit]
    return round({"C": celsius, "F": celsius * 9 / 5 + 32, "K": celsius + 273.15}[to_unit], 4)


def days_between(start: dt.date, end: dt.date) -> int:
    """Count the days from one date to another (negative when the end is earlier).

    Args:
        start: the first date, YYYY-MM-DD
        end: the second date, YYYY-MM-DD
    """
    return (end - start).days


def add_days(date: dt.date, days: int) -> str:
    """The date a number of days after (or, if negative, before) a given date, with its weekday.

    Args:
        date: the starting date, YYYY-MM-DD
        days: how many days to add
    """
    found = date + dt.timedelta(days=days)
    return f"{found.isoformat()} ({found.strftime('%A')})"


def basket_total(items: dict[str, int]) -> dict[str, float | list[str]]:
    """The total price of a shopping basket from the shop's price table (apple, bread, coffee, eggs, milk, rice,
    tea), and the items the shop does not sell.

    Args:
        items: item name -> quantity
    """
    known = {name.lower(): qty for name, qty in items.items() if name.lower() in PRICES}
    if any(qty < 0 for qty in known.values()):
        raise ValueError("a quantity cannot be negative")
    total = round(sum(PRICES[name] * qty for name, qty in known.items()), 2)
    return {"total": total, "unknown_items": sorted(name for name in items if name.lower() not in PRICES)}


TOOLS = [convert_length, convert_mass, convert_temperature, days_between, add_days, basket_total]
