"""Generated task families with difficulty knobs and a seed; answers computed exactly.

``arithmetic``: multi-step word problems (``style=plain``: the bare
expression, "What is (38 * 8) + 12?"). ``digits`` sets the size of the
numbers, ``steps`` the number of operations; each step's result feeds the
next, so an early slip propagates. The worked solution (one line per step)
is kept in ``metadata["steps"]`` for mistake-injection studies.

``code``: small Python functions with tests: one visible assertion for
``test_repair``, several hidden ones for grading, and a reference solution.
Both are deterministic for a given seed.
"""

from __future__ import annotations

import random

from looplab.records import Task

__all__ = ["arithmetic_tasks", "code_tasks"]

_NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun"]
_THINGS = ["apples", "marbles", "stamps", "coins", "books", "shells", "cards", "pencils"]


def arithmetic_tasks(
    n: int = 20,
    *,
    digits: int = 2,
    steps: int = 1,
    ops: str = "+-*",
    seed: int = 0,
    style: str = "story",
) -> list[Task]:
    """Generated arithmetic word problems (seeded): ``n`` problems of ``steps`` operations on
    ``digits``-digit numbers."""
    if style not in ("story", "plain"):
        raise ValueError(f"style must be story or plain, not {style!r}")
    rng = random.Random(f"arithmetic:{digits}:{steps}:{ops}:{seed}")
    low, high = 10 ** (digits - 1), 10**digits - 1
    tasks = []
    for index in range(n):
        name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
        value = rng.randint(low, high)
        sentences = [f"{name} has {value} {thing}."]
        solution = []
        for _ in range(steps):
            op = rng.choice(ops)
            if op == "*":
                factor = rng.randint(2, 9)
                # "gets 7 times as many" also reads as "gets 7 times as many more"
                # (8x); "ends up with ... as before" has one reading
                sentences.append(
                    f"Then {name} ends up with {factor} times as many {thing} as before."
                )
                solution.append(f"{value} * {factor} = {value * factor}")
                value *= factor
            elif op == "-" and value > low:
                amount = rng.randint(low, min(high, value - 1)) if value - 1 >= low else 1
                sentences.append(f"Then {name} gives away {amount}.")
                solution.append(f"{value} - {amount} = {value - amount}")
                value -= amount
            else:
                amount = rng.randint(low, high)
                sentences.append(f"Then {name} finds {amount} more.")
                solution.append(f"{value} + {amount} = {value + amount}")
                value += amount
        sentences.append(f"How many {thing} does {name} have now?")
        if style == "plain":  # the bare calculation: "What is 38 * 8 + 12?"
            expression = solution[0].split(" = ")[0] if solution else str(value)
            for line in solution[1:]:
                _, op, operand = line.split(" = ")[0].split(" ")
                expression = f"({expression}) {op} {operand}"
            sentences = [f"What is {expression}?"]
        tasks.append(
            Task(
                id=f"arith-{'p' if style == 'plain' else ''}d{digits}s{steps}-{seed}-{index}",
                prompt=" ".join(sentences),
                family="arithmetic",
                answer=str(value),
                metadata={
                    "digits": digits,
                    "steps": steps,
                    "seed": seed,
                    "steps_solution": solution,
                },
            )
        )
    return tasks


# name, prompt, reference body, argument generator, signature
_CODE_TEMPLATES = [
    (
        "sum_list",
        "Return the sum of the integers in xs.",
        "return sum(xs)",
        lambda r: ([r.randint(-50, 50) for _ in range(r.randint(0, 6))],),
        "xs: list[int]) -> int",
    ),
    (
        "max_list",
        "Return the largest integer in the non-empty list xs.",
        "return max(xs)",
        lambda r: ([r.randint(-50, 50) for _ in range(r.randint(1, 6))],),
        "xs: list[int]) -> int",
    ),
    (
        "reverse_string",
        "Return s reversed.",
        "return s[::-1]",
        lambda r: ("".join(r.choice("abcxyz") for _ in range(r.randint(0, 7))),),
        "s: str) -> str",
    ),
    (
        "count_vowels",
        "Return how many of the characters of s are vowels (aeiou, lower case).",
        "return sum(c in 'aeiou' for c in s)",
        lambda r: ("".join(r.choice("abeioux") for _ in range(r.randint(0, 9))),),
        "s: str) -> int",
    ),
    (
        "is_palindrome",
        "Return True if s reads the same backwards, else False.",
        "return s == s[::-1]",
        lambda r: (r.choice(["abba", "abc", "", "x", "racecar", "ab"]),),
        "s: str) -> bool",
    ),
    (
        "factorial",
        "Return n! for n >= 0.",
        "import math\n    return math.factorial(n)",
        lambda r: (r.randint(0, 10),),
        "n: int) -> int",
    ),
    (
        "count_even",
        "Return how many integers in xs are even.",
        "return sum(x % 2 == 0 for x in xs)",
        lambda r: ([r.randint(-9, 9) for _ in range(r.randint(0, 7))],),
        "xs: list[int]) -> int",
    ),
    (
        "square_all",
        "Return a list of the squares of the integers in xs, in order.",
        "return [x * x for x in xs]",
        lambda r: ([r.randint(-9, 9) for _ in range(r.randint(0, 5))],),
        "xs: list[int]) -> list[int]",
    ),
]


def code_tasks(n: int = 8, *, tests: int = 4, seed: int = 0) -> list[Task]:
    """Generated small programming tasks with visible and hidden tests (seeded)."""
    rng = random.Random(f"code:{tests}:{seed}")
    tasks = []
    for index in range(n):
        name, doc, body, make_args, signature = _CODE_TEMPLATES[index % len(_CODE_TEMPLATES)]
        namespace: dict = {}
        exec(f"def {name}({signature}:\n    {body}\n", namespace)  # our own reference code
        reference = namespace[name]
        cases = [make_args(rng) for _ in range(tests + 1)]
        asserts = [f"    assert candidate(*{args!r}) == {reference(*args)!r}" for args in cases]
        tasks.append(
            Task(
                id=f"code-{seed}-{index}-{name}",
                prompt=f'def {name}({signature}:\n    """{doc}"""\n',
                family="code",
                entry_point=name,
                visible_tests="def check(candidate):\n" + asserts[0] + "\n",
                hidden_tests="def check(candidate):\n" + "\n".join(asserts[1:]) + "\n",
                metadata={"canonical_solution": f"    {body}\n", "seed": seed},
            )
        )
    return tasks
