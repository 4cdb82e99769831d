"""Final answers of math solutions: `\\boxed{}` extraction, normalisation, and equivalence.

Equivalence is decided in order: identical normalised strings; equal numbers (integers, decimals, fractions,
`\\frac`, thousands separators, percentages, units stripped); equal sympy expressions (simplify(a - b) == 0) for
simple symbolic answers. Anything sympy cannot parse is compared as text only.
"""

from __future__ import annotations

import re
from fractions import Fraction

_UNITS = r"(?:cm|mm|km|m|kg|g|mg|l|ml|s|sec|seconds|minutes|min|hours|h|hrs|days|dollars|cents|units|degrees|mph|" \
         r"km/h|inches|inch|feet|ft|miles|meters|metres|liters|litres|percent|people|apples|students)"


def extract_boxed(text: str) -> list[str]:
    """Contents of every `\\boxed{...}` / `\\fbox{...}` in `text`, braces balanced, in order."""
    out = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append(text[m.end(): i - 1].strip())
    return out


def trim_after_boxed(text: str) -> str:
    """The solution up to the end of its last boxed answer (OpenMathInstruct drops what follows)."""
    matches = list(re.finditer(r"\\(?:boxed|fbox)\s*\{", text))
    if not matches:
        return text
    depth, i = 1, matches[-1].end()
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    closing = re.match(r"[ $.\\\])]*", text[i:])  # keep "$.", "\\]" and the like that close the answer
    return (text[:i] + (closing.group(0) if closing else "")).rstrip()


def normalize(answer: str) -> str:
    a = answer.strip()
    a = re.sub(r"\\text\{\s*([^{}]*)\}", r"\1", a)
    a = re.sub(r"\\(?:mathrm|mathbf|textbf)\{([^{}]*)\}", r"\1", a)
    a = a.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "").replace("\\;", "")
    a = a.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("^\\circ", "").replace("^{\\circ}", "")
    a = a.replace("\\%", "%").replace("\\$", "").replace("$", "")
    a = re.sub(rf"\s*\b{_UNITS}\b\.?$", "", a, flags=re.I)
    a = a.strip().rstrip(".").strip()
    if re.fullmatch(r"[a-zA-Z]\s*=\s*.+", a):  # "x = 5" -> "5"
        a = a.split("=", 1)[1].strip()
    return re.sub(r"\s+", "", a)


def as_number(answer: str) -> Fraction | None:
    a = normalize(answer)
    percent = a.endswith("%")
    a = a.rstrip("%")
    m = re.fullmatch(r"\\frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}", a) or re.fullmatch(r"(-?[\d.]+)/(-?[\d.]+)", a)
    try:
        if m:
            value = Fraction(m.group(1)) / Fraction(m.group(2))
        elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", a):
            value = Fraction(a.replace(",", ""))
        elif re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", a):
            value = Fraction(a)
        else:
            return None
    except (ValueError, ZeroDivisionError):
        return None
    return value / 100 if percent else value


def _sympy(answer: str):  # type: ignore[no-untyped-def]
    from tokenize import TokenError

    import sympy

    a = normalize(answer)
    a = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", a)
    a = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", a)
    a = a.replace("\\pi", "pi").replace("^", "**").replace("\\cdot", "*").replace("\\times", "*")
    a = a.replace("{", "(").replace("}", ")")
    if "\\" in a or len(a) > 100:
        return None
    from sympy.parsing.sympy_parser import (implicit_multiplication_application, parse_expr,
                                            standard_transformations)

    try:
        return parse_expr(a, transformations=standard_transformations + (implicit_multiplication_application,),
                          evaluate=True)
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError, AttributeError, TokenError):
        return None


def equivalent(a: str, b: str) -> bool:
    if normalize(a) == normalize(b):
        return True
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return na == nb
    sa, sb = _sympy(a), _sympy(b)
    if sa is None or sb is None:
        return False
    try:
        import sympy

        return bool(sympy.simplify(sa - sb) == 0)
    except Exception:  # sympy raises many types on odd input; not equal is the safe answer
        return False
