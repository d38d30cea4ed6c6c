"""The calculator: right answers, and hostile input that never executes and never hangs."""

from __future__ import annotations

import time

import pytest

from looplab.tools import Calculator


@pytest.fixture(scope="module")
def calc():
    return Calculator()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17*23", "391"),
        ("17 × 23", "391"),
        ("(3+4)/2", "3.5"),
        ("0.1 + 0.2", "0.3"),  # decimals are exact
        ("1/3", "0.333333333333"),
        ("2^10", "1024"),
        ("2**0.5", "1.41421356237"),
        ("sqrt(144)", "12"),
        ("cbrt(27)", "3"),
        ("root(32, 5)", "2"),
        ("log(8, 2)", "3"),
        ("log10(1000)", "3"),
        ("ln(e)", "1"),
        ("exp(0)", "1"),
        ("sin(pi/6)", "0.5"),
        ("cos(pi)", "-1"),
        ("atan(1)*4", "3.14159265359"),
        ("factorial(10)", "3628800"),
        ("gcd(84, 36)", "12"),
        ("lcm(4, 6, 10)", "60"),
        ("abs(-7)", "7"),
        ("floor(7/2)", "3"),
        ("ceil(7/2)", "4"),
        ("round(2.675, 2)", "2.68"),
        ("7 % 3", "1"),
        ("7 // 2", "3"),
        ("15% * 80", "12"),
        ("-3**2", "-9"),
        ("123456789 * 987654321", "121932631112635269"),
        ("2**100", "1267650600228229401496703205376"),
        ("binomial(10, 3)", "120"),
        ("simplify((x**2 - 1)/(x - 1))", "x + 1"),
        ("expand((x + 1)**2)", "x**2 + 2*x + 1"),
        ("factor(x**2 - 5*x + 6)", "(x - 3)*(x - 2)"),
        ("2*x + 3 = 11", "x = 4"),
        ("x**2 = 9", "x = -3, x = 3"),
        ("x/4 = 2.5", "x = 10"),
        ("sin(x)**2 + cos(x)**2 = 1", "true for every x"),
        ("x = x + 1", "no solution"),
        ("2 + 2 = 4", "true"),
        ("48/2=", "24"),  # GSM8K's convention: a trailing '=' asks for the value
    ],
)
def test_results(calc, expression, expected):
    result = calc.run(expression)
    assert result.ok, result.error
    assert result.output == expected


HOSTILE = [
    "__import__('os').system('touch /tmp/pwned')",
    "(lambda: 1)()",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "exec('import os')",
    "globals()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "'a' * 10",
    "9**9**9",
    "2**10**7",
    "10**100000",
    "factorial(10**9)",
    "factorial(-1)",
    "factorial(2.5)",
    "1" * 1_000_000,
    "(" * 500 + "1" + ")" * 500,
    "((((1+2)",
    "1 +* 2",
    "x**(10**9)",
    "(x+1)**100000",
    "1/0",
    "log(0)",
    "sin(x, y)",
    "import os",
    "lambda: 0",
    "a if b else c",
    "x[0]",
    "{'a': 1}",
    "sympy.sqrt(2)",
    "solve(x**2 - 1)",
    "x + y = 2",
    "1 = 2 = 3",
    "print(1)",
    "f'{1}'",
    # sympy needs ~5 s for it here (the quintic x**5 - x + 1 took 0.89 s of the 0.9 s
    # bound: too close to fail reliably): killed at the timeout
    "x**9 - 7*x**4 + 3*x - 11 = 0",
    "\x00\x01",
    "",
]


@pytest.mark.parametrize("payload", HOSTILE, ids=lambda p: repr(p[:30]))
def test_hostile_input_is_refused_quickly_and_executes_nothing(calc, payload, tmp_path):
    calc.run("1+1")  # the worker is warm: the bound is on evaluation, not start-up
    started = time.perf_counter()
    result = calc.run(payload)
    elapsed = time.perf_counter() - started
    assert not result.ok, f"{payload[:40]!r} gave {result.output!r}"
    assert result.error and "\n" not in result.error
    assert elapsed < 1.0 + 0.25, f"{payload[:40]!r} took {elapsed:.2f} s"  # 1 s + scheduling slack


def test_nothing_was_executed():
    import os

    assert not os.path.exists("/tmp/pwned")


def test_calculator_keeps_working_after_a_timeout(calc):
    assert not calc.run("x**9 - 7*x**4 + 3*x - 11 = 0").ok
    started = time.perf_counter()
    assert calc.run("6*7").output == "42"
    assert time.perf_counter() - started < 1.0  # the warm spare took over


def test_errors_are_clear(calc):
    assert calc.run("9**9**9").error == "result too large (more than 10000 digits)"
    assert calc.run("factorial(10**9)").error == "factorial argument too large (at most 1000)"
    assert calc.run("__import__('os')").error == "unknown function '__import__'"
    assert calc.run("1/0").error == "undefined result (division by zero?)"
    assert "took longer than 0.9 s" in calc.run("x**9 - 7*x**4 + 3*x - 11 = 0").error
