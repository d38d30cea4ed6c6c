"""The MATH grader audited over every reference of the MATH test split.

Each of the 5,000 references (the last box of each solution) is rewritten into
forms that must grade equal to it (\\dfrac and \\tfrac for \\frac, \\left( ... \\right),
spaces, $...$ instead of a box, a trailing period, the exact decimal of a fraction)
and near misses that must not (sign flipped, off by one, a factor of 2, a dropped
term, a wrong unit), each as a model's last line; every one goes through answer
extraction and the grader, as a run's answers do. Prints, per form, how many were
graded as they must be, and every failure with its class.

    python benchmarks/bench_math_grader.py [--data ../shared/data/math] [--limit N]

Exits 1 if a near miss is accepted or a failure is unexplained.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from looplab.tasks import EQUIVALENT_FORMS, NEAR_MISSES, audit, load_tasks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/math")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    refs = {t.id: t.answer for t in load_tasks(f"math:{args.data}", limit=args.limit)}
    started = time.perf_counter()
    found = audit(refs)
    seconds = time.perf_counter() - started
    print(f"{len(refs)} references, {sum(found['tried'].values())} graded forms, {seconds:.0f} s")
    print(f"{'form':<14} {'must':<8} {'graded right':>14} {'of':>6} {'rate':>8}")
    for form in (*EQUIVALENT_FORMS, *NEAR_MISSES):
        tried, passed = found["tried"].get(form, 0), found["passed"].get(form, 0)
        must = "equal" if form in EQUIVALENT_FORMS else "unequal"
        rate = f"{passed / tried:.2%}" if tried else "n/a"
        print(f"{form:<14} {must:<8} {passed:>14} {tried:>6} {rate:>8}")
    print(f"references math-verify could not parse: {len(found['unparsed'])}")
    classes = Counter(f[5] for f in found["failures"])
    for name, count in classes.most_common():
        print(f"failure class ({count}): {name}")
    for failure in found["failures"]:
        print("  ", failure[:5])
    accepted = sum(found["tried"].get(f, 0) - found["passed"].get(f, 0) for f in NEAR_MISSES)
    unexplained = sum(n for name, n in classes.items() if name.startswith("unexplained"))
    print(f"near misses accepted: {accepted}; unexplained failures: {unexplained}")
    return 1 if accepted or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
