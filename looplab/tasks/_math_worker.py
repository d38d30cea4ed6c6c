"""The LaTeX grader's worker process: math-verify behind a deadline.

Run as ``python -m looplab.tasks._math_worker``. Parsing and comparing what a
model wrote is sympy work whose time the model controls (``9^{9^{9^9}}``), so it
runs here, not in the grading thread: math-verify's own per-call timeouts use
``signal.alarm``, which works only in a process's main thread, and the parent
kills this process if a whole request runs past its deadline.

Requests are ``{"pairs": [[reference, answer], ...]}``; the answer is
``{"equal": [true | false | null, ...]}`` (null: the reference or the answer
could not be parsed, or a comparison timed out).
"""

from __future__ import annotations

import json
import logging
import re
import resource
import sys
from functools import lru_cache

MEMORY_LIMIT = 2 << 30  # 2 GiB of address space: sympy and the ANTLR parser
CALL_TIMEOUT_S = 5


@lru_cache(maxsize=4096)  # a reference is parsed once for all answers to it
def _parsed(latex: str):
    from math_verify import parse

    # Boxed, so the whole text is the one expression math-verify extracts.
    return parse(f"$\\boxed{{{latex}}}$", parsing_timeout=CALL_TIMEOUT_S)


def equal(reference: str, answer: str) -> bool | None:
    """Whether math-verify finds ``answer`` equivalent to ``reference`` (None: unparsable)."""
    from math_verify import verify

    gold, given = _parsed(_braced_fractions(reference)), _parsed(_braced_fractions(answer))
    if not gold or not given:
        return None
    if not verify(gold, given, timeout_seconds=CALL_TIMEOUT_S):
        return False
    return _exactly_close(gold[0], given[0])


# math-verify reads "\frac \pi4" as "\frac{\}{p}i4" (=2); braced, "\frac{\pi}{4}", it
# reads right. A fraction's unbraced arguments are one token each: a command or a character.
_ARGUMENT = r"\s*(\{[^{}]*\}|\\[A-Za-z]+|[^\s{}\\])"
_FRACTION = re.compile(r"(\\[dt]?frac)" + _ARGUMENT + _ARGUMENT)


def _braced(argument: str) -> str:
    return argument if argument.startswith("{") else "{" + argument + "}"


def _braced_fractions(latex: str) -> str:
    return _FRACTION.sub(lambda m: m[1] + _braced(m[2]) + _braced(m[3]), latex)


def _exactly_close(gold, given) -> bool:
    """math-verify rounds numbers to 6 decimals, so 1/20! equals -1/20! to it. Two exact
    numbers (no decimals written) must also agree relative to their size."""
    import sympy

    exact = [
        isinstance(v, sympy.Expr) and v.is_number and not v.atoms(sympy.Float)
        for v in (gold, given)
    ]
    if not all(exact):
        return True
    a, b = gold.evalf(40), given.evalf(40)  # arbitrary precision: 1/2004! is not 0 here
    size = max(abs(a), abs(b))
    return bool(abs(a - b) <= size * sympy.Float("1e-12"))


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    logging.disable(logging.WARNING)  # math-verify logs every unparsable answer
    equal("\\frac{1}{2}", "0.5")  # import and warm the parser before saying we are ready
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    for line in sys.stdin:
        results: list[bool | None] = []
        for reference, answer in json.loads(line)["pairs"]:
            try:
                results.append(equal(reference, answer))
            except (Exception, MemoryError, RecursionError):  # unparsable, too big, too slow
                results.append(None)
        sys.stdout.write(json.dumps({"equal": results}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
