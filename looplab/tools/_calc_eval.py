"""The calculator's evaluator: model text -> Python AST -> a whitelisted sympy expression.

SECURITY: sympy's ``sympify`` and ``parse_expr`` call ``eval`` on their
input, so model text never reaches them. The text is parsed by ``ast``, every
node is checked against a whitelist, and the sympy expression is built here
node by node, with bounds on integer sizes, exponents and factorials checked
*before* each operation. The one unbounded thing left, time (sympy's
simplify/solve), is bounded by running this module in a worker process that
is killed on a timeout (see ``_calculator.py``).
"""

from __future__ import annotations

import ast
import functools
import math
import re

import sympy

from looplab.errors import ToolError

__all__ = ["MAX_DIGITS", "evaluate", "parse"]

MAX_INPUT_CHARS = 1000
MAX_NODES = 200
MAX_DIGITS = 10_000
"""No integer (literal, intermediate or result) may have more decimal digits."""
MAX_FACTORIAL = 1000
MAX_SYMBOLIC_POWER = 64

_FUNCTIONS = {
    "sqrt": sympy.sqrt,
    "cbrt": sympy.cbrt,
    "root": sympy.root,
    "exp": sympy.exp,
    "ln": sympy.log,
    "log10": lambda x: sympy.log(x, 10),
    "log2": lambda x: sympy.log(x, 2),
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "abs": sympy.Abs,
    "floor": sympy.floor,
    "ceil": sympy.ceiling,
    "ceiling": sympy.ceiling,
    "gcd": lambda *a: functools.reduce(sympy.gcd, a),
    "lcm": lambda *a: functools.reduce(sympy.lcm, a),
    "min": sympy.Min,
    "max": sympy.Max,
    "binomial": sympy.binomial,
    "simplify": sympy.simplify,
    "expand": sympy.expand,
    "factor": sympy.factor,
}
# Handled specially: log (optional base), factorial (bounded), round, solve.
_SPECIAL = {"log", "factorial", "round", "solve"}
_CONSTANTS = {"pi": sympy.pi, "e": sympy.E, "E": sympy.E, "oo": sympy.oo}
_SYMBOL = re.compile(r"^[A-Za-z]\w{0,7}$")

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: sympy.floor(a / b),
    ast.Mod: lambda a, b: sympy.Mod(a, b),
    ast.Pow: lambda a, b: a**b,
}


def _normalise(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_INPUT_CHARS:
        raise ToolError(f"input too long ({len(text)} characters; at most {MAX_INPUT_CHARS})")
    for char, ascii_op in (("×", "*"), ("÷", "/"), ("−", "-"), ("^", "**"), ("√", "sqrt")):
        text = text.replace(char, ascii_op)
    # "15%" is a percentage; "7 % 3" stays the modulo operator.
    text = re.sub(r"(\d+(?:\.\d+)?)\s*%(?!\s*[\w(.])", r"(\1/100)", text)
    # GSM8K writes calls as "48/2=": a trailing "=" asks for the value.
    if text.endswith("=") and not text.endswith(("==", "<=", ">=")):
        text = text[:-1].rstrip()
    return text


_EQUALS = re.compile(r"(?<![=<>!])=(?!=)")


def parse(text: str) -> list[tuple[ast.expr, str]]:
    """Parse into one (tree, source) pair, or two for an equation ``lhs = rhs``."""
    text = _normalise(text)
    if not text:
        raise ToolError("empty expression")
    sides = [side.strip() for side in _EQUALS.split(text)]
    if len(sides) > 2:
        raise ToolError("an equation may hold one '=' only")
    parsed = [(_parse_one(side), side) for side in sides]
    nodes = sum(1 for tree, _ in parsed for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise ToolError(f"expression too complex ({nodes} parts; at most {MAX_NODES})")
    return parsed


def _parse_one(text: str) -> ast.expr:
    if not text:
        raise ToolError("one side of the equation is empty")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"cannot parse {text[:60]!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ToolError("cannot parse the expression") from None
    return tree.body


class _Builder:
    """Builds a sympy value from a checked AST, enforcing the size bounds."""

    def __init__(self) -> None:
        self.source = ""
        self.symbols: dict[str, sympy.Symbol] = {}

    def build(self, node: ast.expr, source: str) -> sympy.Basic:
        """The value of ``node``, parsed from ``source`` (needed for exact decimals)."""
        self.source = source
        return self._build(node)

    def _build(self, node: ast.expr) -> sympy.Basic:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self._build(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = self._build(node.left), self._build(node.right)
            self._check_operation(node.op, left, right)
            return self._bounded(_BINOPS[type(node.op)](left, right))
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Tuple):
            raise ToolError("a comma outside a function call: write one expression")
        raise ToolError(f"{type(node).__name__} is not allowed in a calculation")

    def _constant(self, node: ast.Constant) -> sympy.Basic:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolError(f"only numbers are allowed, not {type(value).__name__}")
        if isinstance(value, float):
            literal = ast.get_source_segment(self.source, node) or repr(value)
            try:
                return sympy.Rational(literal.replace("_", ""))  # 0.1 stays exactly 1/10
            except (TypeError, ValueError):
                return sympy.Rational(repr(value))
        if value.bit_length() > MAX_DIGITS * 3.33:
            raise ToolError(f"number too large (more than {MAX_DIGITS} digits)")
        return sympy.Integer(value)

    def _name(self, name: str) -> sympy.Basic:
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in _FUNCTIONS or name in _SPECIAL:
            raise ToolError(f"{name} is a function: call it as {name}(...)")
        if name.startswith("_") or not _SYMBOL.match(name):
            raise ToolError(f"unknown name {name[:40]!r}")
        return self.symbols.setdefault(name, sympy.Symbol(name))

    def _check_operation(self, op: ast.operator, left: sympy.Basic, right: sympy.Basic) -> None:
        if isinstance(op, ast.Pow):
            _check_power(left, right)
        elif isinstance(op, ast.Mult) and _digits(left) + _digits(right) > MAX_DIGITS:
            raise ToolError(f"result too large (more than {MAX_DIGITS} digits)")

    def _call(self, node: ast.Call) -> sympy.Basic:
        if not isinstance(node.func, ast.Name):
            raise ToolError("only plain function calls such as sqrt(2) are allowed")
        name = node.func.id
        if node.keywords:
            raise ToolError(f"{name}() takes no keyword arguments")
        if len(node.args) > 8:
            raise ToolError(f"too many arguments to {name}()")
        if name == "solve":
            raise ToolError("write an equation instead, e.g. 2*x + 3 = 11")
        if name not in _FUNCTIONS and name not in _SPECIAL:
            raise ToolError(f"unknown function {name[:40]!r}")
        args = [self._build(a) for a in node.args]
        if not args:
            raise ToolError(f"{name}() needs an argument")
        if name == "factorial":
            return _factorial(args)
        if name == "log":
            if len(args) > 2:
                raise ToolError("log takes a value and an optional base")
            return self._bounded(sympy.log(*args))
        if name == "round":
            return _round(args)
        try:
            return self._bounded(_FUNCTIONS[name](*args))
        except TypeError as exc:
            raise ToolError(f"wrong arguments to {name}(): {exc}") from None

    def _bounded(self, value: sympy.Basic) -> sympy.Basic:
        if _digits(value) > MAX_DIGITS:
            raise ToolError(f"result too large (more than {MAX_DIGITS} digits)")
        if value in (sympy.zoo, sympy.nan):
            raise ToolError("undefined result (division by zero?)")
        return value


def _digits(value: sympy.Basic) -> int:
    """Decimal digits of an integer or rational (numerator + denominator); 0 otherwise."""
    if isinstance(value, sympy.Integer):
        return len(str(abs(int(value)))) if abs(int(value)) < 10**50 else _approx_digits(value)
    if isinstance(value, sympy.Rational):
        return _approx_digits(sympy.Integer(value.p)) + _approx_digits(sympy.Integer(value.q))
    return 0


def _approx_digits(value: sympy.Integer) -> int:
    return int(abs(int(value)).bit_length() * 0.30103) + 1


def _check_power(base: sympy.Basic, exponent: sympy.Basic) -> None:
    if not exponent.is_number:
        return
    if not base.is_number:
        if exponent.is_Integer and abs(int(exponent)) > MAX_SYMBOLIC_POWER:
            raise ToolError(
                f"exponent too large for a symbolic power (at most {MAX_SYMBOLIC_POWER})"
            )
        return
    if exponent.is_Integer and base.is_Rational:
        size = max(abs(base.p), abs(base.q))
        if size > 1 and abs(int(exponent)) * math.log10(size) > MAX_DIGITS:
            raise ToolError(f"result too large (more than {MAX_DIGITS} digits)")
    elif exponent.is_Rational and exponent.q > 10**6:
        raise ToolError("root of too high an order")


def _factorial(args: list[sympy.Basic]) -> sympy.Basic:
    if len(args) != 1:
        raise ToolError("factorial takes one argument")
    (n,) = args
    if not n.is_Integer or n < 0:
        raise ToolError("factorial needs a non-negative integer")
    if n > MAX_FACTORIAL:
        raise ToolError(f"factorial argument too large (at most {MAX_FACTORIAL})")
    return sympy.factorial(n)


def _round(args: list[sympy.Basic]) -> sympy.Basic:
    if len(args) > 2 or not all(a.is_number for a in args):
        raise ToolError("round takes a number and optional digits")
    digits = int(args[1]) if len(args) == 2 else 0
    if not 0 <= digits <= 50:
        raise ToolError("round: digits must be between 0 and 50")
    value = sympy.Rational(str(sympy.N(args[0], 60)))
    return sympy.Rational(round(value * 10**digits), 10**digits)


def format_value(value: sympy.Basic) -> str:
    """A number as a model should read it: exact where exact, else 12 significant digits."""
    if isinstance(value, sympy.Integer):
        return str(int(value))
    if isinstance(value, sympy.Rational):
        q = value.q
        while q % 2 == 0:
            q //= 2
        while q % 5 == 0:
            q //= 5
        if q == 1:  # a terminating decimal: show it exactly
            return _exact_decimal(value)
        return _approx(value)
    if value.is_number:
        if value.is_real is False:
            return str(sympy.N(value, 12))
        return _approx(value)
    return str(value)


def _exact_decimal(value: sympy.Rational) -> str:
    text = str(sympy.N(value, _digits(value) + 5))
    return text.rstrip("0").rstrip(".") if "." in text else text


def _approx(value: sympy.Basic) -> str:
    number = sympy.N(value, 12)
    if number.is_Integer:
        return str(number)
    text = f"{float(number):.12g}" if abs(float(number)) < 1e15 else str(number)
    return text


def evaluate(text: str) -> str:
    """Evaluate one calculator input; raise ``ToolError`` with a clear message."""
    builder = _Builder()
    values = [builder.build(tree, source) for tree, source in parse(text)]
    if len(values) == 1:
        return format_value(values[0])
    lhs, rhs = values
    unknowns = sorted(builder.symbols.values(), key=str)
    if not unknowns:
        equal = sympy.simplify(lhs - rhs) == 0
        return "true" if equal else f"false ({format_value(lhs)} != {format_value(rhs)})"
    if len(unknowns) > 1:
        names = ", ".join(map(str, unknowns))
        raise ToolError(f"solve one unknown at a time (found {names})")
    (x,) = unknowns
    if sympy.simplify(lhs - rhs) == 0:
        return f"true for every {x}"
    solutions = sympy.solve(sympy.Eq(lhs, rhs), x)
    if not solutions:
        return "no solution"
    return ", ".join(f"{x} = {format_value(s)}" for s in solutions)
