"""A small grammar for math answers, and exact-where-possible evaluation of what it parses.

Nothing here evaluates, compiles or imports text: an answer is tokenized and parsed by our own recursive-descent
parser into a tree of tuples, and the tree is evaluated by our own arithmetic. The grammar covers numbers
(integers, decimals, scientific notation), `+ - * / ^ !`, `\\cdot \\times \\div`, parentheses and braces, implicit
multiplication (`2x`, `2\\sqrt{2}`, `3(x+1)`), `\\frac{a}{b}`, `\\sqrt{a}`, `\\sqrt[n]{a}`, `\\pi`, `\\infty`,
a whitelist of functions (`\\sin`, `\\log_2`, `ln`, `exp`, ...) and single-letter symbols. Everything else is not
math and `parse` raises `NotMath`.

Bounds (so that any input returns quickly): at most MAX_CHARS characters, MAX_DEPTH levels of nesting, exact
powers only up to MAX_BITS bits of result (beyond, floating point, and an overflow is "no value"), factorials
up to MAX_FACTORIAL, and scientific exponents up to MAX_EXP10.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

MAX_CHARS = 300
MAX_DEPTH = 32
MAX_BITS = 20_000
MAX_FACTORIAL = 300
MAX_EXP10 = 400

Tree = tuple[Any, ...]
Value = Fraction | float

FUNCTIONS: dict[str, Any] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "cot": lambda x: 1 / math.tan(x),
    "sec": lambda x: 1 / math.cos(x), "csc": lambda x: 1 / math.sin(x), "arcsin": math.asin,
    "arccos": math.acos, "arctan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "exp": math.exp, "ln": math.log, "log": math.log, "sqrt": math.sqrt,
}
CONSTANTS = {"pi": math.pi, "infty": math.inf}
COMMANDS = sorted(set(FUNCTIONS) | set(CONSTANTS) | {"frac", "sqrt", "cdot", "times", "div"}, key=len, reverse=True)
_TOKEN = re.compile(
    r"(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,6}(?![\d]))?)"
    r"|\\(?P<cmd>" + "|".join(COMMANDS) + r")"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<op>[-+*/^!(){}\[\]_])"
    r"|(?P<space>\s+)")
_MULTIPLY = {"*", "cdot", "times"}
_DIVIDE = {"/", "div"}


class NotMath(ValueError):
    """The text is not an expression of this grammar (or is over its bounds)."""


def tokenize(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_CHARS:
        raise NotMath("too long")
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise NotMath(f"unexpected {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "space":
            continue
        value = m.group(kind)
        if kind == "word":
            if value in FUNCTIONS or value in CONSTANTS:
                kind = "cmd"
            elif len(value) != 1:
                raise NotMath(f"unknown word {value!r}")
            else:
                kind = "sym"
        out.append((kind, value))
    return out


def parse(text: str) -> Tree:
    """The tree of one expression; NotMath if `text` is not one."""
    parser = _Parser(tokenize(text))
    if not parser.tokens:
        raise NotMath("empty")
    tree = parser.expr()
    if parser.pos != len(parser.tokens):
        raise NotMath(f"unexpected {parser.peek()[1]!r}")
    return tree


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end" or (value is not None and tok[1] != value):
            raise NotMath(f"expected {value or 'more'}")
        self.pos += 1
        return tok

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NotMath("nested too deeply")

    def expr(self) -> Tree:
        self.nested()
        tree = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            right = self.term()
            tree = ("+", tree, right) if op == "+" else ("+", tree, ("neg", right))
        self.depth -= 1
        return tree

    def term(self) -> Tree:
        tree = self.unary()
        while True:
            kind, value = self.peek()
            if value in _MULTIPLY or value in _DIVIDE:
                self.take()
                right = self.unary()
                tree = ("*", tree, right) if value in _MULTIPLY else ("/", tree, right)
            elif kind in ("num", "sym") or (kind == "cmd" and value not in _MULTIPLY | _DIVIDE) or value in ("(", "{"):
                tree = ("*", tree, self.power())  # implicit multiplication: 2x, 2\sqrt{2}, 3(x+1)
            else:
                return tree

    def unary(self) -> Tree:
        self.nested()
        if self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            tree = self.unary()
            tree = ("neg", tree) if op == "-" else tree
        else:
            tree = self.power()
        self.depth -= 1
        return tree

    def power(self) -> Tree:
        tree = self.postfix()
        if self.peek()[1] == "^":
            self.take()
            tree = ("^", tree, self.unary())  # right-associative: a^b^c = a^(b^c)
        return tree

    def postfix(self) -> Tree:
        tree = self.atom()
        while self.peek()[1] == "!":
            self.take()
            tree = ("!", tree)
        return tree

    def group(self, close: str) -> Tree:
        tree = self.expr()
        self.take(close)
        return tree

    def argument(self) -> Tree:
        """A LaTeX argument: `{expr}`, or one token (`\\frac12`, `\\sqrt2`, `\\sin x`)."""
        if self.peek()[1] == "{":
            self.take()
            return self.group("}")
        return self.postfix()

    def atom(self) -> Tree:
        self.nested()
        tree = self._atom()
        self.depth -= 1
        return tree

    def _atom(self) -> Tree:
        kind, value = self.take()
        if kind == "num":
            return ("n", _number(value))
        if kind == "sym":
            return ("s", value)
        if value == "(":
            return self.group(")")
        if value == "{":
            return self.group("}")
        if kind != "cmd":
            raise NotMath(f"unexpected {value!r}")
        if value in CONSTANTS:
            return ("c", value)
        if value == "frac":
            return ("/", self.argument(), self.argument())
        if value == "sqrt":
            if self.peek()[1] == "[":
                self.take()
                index = self.group("]")
                return ("^", self.argument(), ("/", ("n", Fraction(1)), index))
            return ("f", "sqrt", self.argument())
        if value in FUNCTIONS:
            base = None
            if value == "log" and self.peek()[1] == "_":
                self.take()
                base = self.argument()
            exponent = None
            if self.peek()[1] == "^":  # \sin^2 x
                self.take()
                exponent = self.argument()
            if self.peek()[1] == "(":
                self.take()
                arg = self.group(")")
            else:
                arg = self.argument()
            tree = ("f", value, arg) if base is None else ("/", ("f", "ln", arg), ("f", "ln", base))
            return tree if exponent is None else ("^", tree, exponent)
        raise NotMath(f"unexpected {value!r}")


def _number(text: str) -> Fraction:
    mantissa, _, exp = text.lower().partition("e")
    value = Fraction(mantissa)
    if exp:
        e = int(exp)
        if abs(e) > MAX_EXP10:
            raise NotMath("exponent too large")
        value *= Fraction(10) ** e
    return value


def symbols(tree: Tree) -> set[str]:
    out: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if node[0] == "s":
            out.add(node[1])
        else:
            stack.extend(child for child in node[1:] if isinstance(child, tuple))
    return out


def evaluate(tree: Tree, env: dict[str, Fraction]) -> Value | None:
    """The value of `tree` with symbols from `env`: a Fraction while the arithmetic stays exact and small, else a
    float; None when it has no finite value (division by zero, a domain error, an overflow)."""
    try:
        return _eval(tree, env)
    except (ArithmeticError, ValueError):
        return None


def _eval(node: Tree, env: dict[str, Fraction]) -> Value | None:
    op = node[0]
    if op == "n":
        return node[1]  # type: ignore[no-any-return]
    if op == "s":
        return env[node[1]]
    if op == "c":
        return CONSTANTS[node[1]]
    args = [_eval(child, env) for child in node[1:] if isinstance(child, tuple)]
    if any(a is None for a in args):
        return None
    if op == "neg":
        return -args[0]  # type: ignore[operator]
    if op == "f":
        return _finite(FUNCTIONS[node[1]](float(args[0])), args)  # type: ignore[arg-type]
    if op == "!":
        n = args[0]
        if not isinstance(n, Fraction) or n.denominator != 1 or not 0 <= n <= MAX_FACTORIAL:
            return None
        return Fraction(math.factorial(int(n)))
    a, b = args
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        result = _exact(op, a, b)
        if result is not None:
            return _small(result)
    fa, fb = float(a), float(b)  # type: ignore[arg-type]
    if op == "+":
        return _finite(fa + fb, args)
    if op == "*":
        return _finite(fa * fb, args)
    if op == "/":
        return None if fb == 0 else _finite(fa / fb, args)
    return _finite(math.pow(fa, fb), args)  # OverflowError / ValueError -> None


def _exact(op: str, a: Fraction, b: Fraction) -> Fraction | None:
    if op == "+":
        return a + b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            raise ZeroDivisionError
        return a / b
    if b.denominator != 1:
        return None
    bits = max(a.numerator.bit_length(), a.denominator.bit_length(), 1)
    if bits * abs(b.numerator) > MAX_BITS or (a == 0 and b < 0):
        return None  # too big to be exact: float (overflow -> no value), or 0^-n -> ZeroDivisionError there
    return a ** int(b)  # type: ignore[no-any-return]


def _small(x: Fraction) -> Value:
    if max(x.numerator.bit_length(), x.denominator.bit_length()) > MAX_BITS:
        return float(x)  # OverflowError when too big: no value
    return x


def _finite(x: float, args: list[Any]) -> float | None:
    if math.isnan(x) or (math.isinf(x) and not any(isinstance(a, float) and math.isinf(a) for a in args)):
        return None
    return x
