"""Coverage of the report's intervals: how often a 95% interval holds the truth.

For each (p, n) of the grid, 1,000 simulated sets of n tasks; each interval is
computed on every set and the table prints coverage (share of sets whose
interval holds the true value) and mean width. The intervals the report uses
for a share of tasks (Clopper-Pearson) and for a paired difference of shares
(Bonett-Price) are printed beside the ones they replaced (the percentile
bootstrap) and a common alternative (Wilson; Newcombe's paired method 10).

A paired set: each task right under A with probability p, under B with
p + delta (delta 0 and 0.1), the two outcomes correlated (rho 0 and 0.8: the
same latent draw with probability rho).

    python benchmarks/bench_coverage.py [--sets 1000] [--resamples 2000]

Exits 1 if an interval the report uses covers less than 93% anywhere on the grid.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys

import numpy as np
from scipy.stats import binomtest

from looplab.metrics import paired_difference_interval, proportion_interval

PS = (0.02, 0.05, 0.1, 0.3, 0.5, 0.9)
NS = (10, 20, 50, 200)
FLOOR = 0.93


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return ci.low, ci.high


def bootstrap_share(k: int, n: int, rng, resamples: int) -> tuple[float, float]:
    draws = rng.binomial(n, k / n, size=resamples) / n  # resampling n tasks of k right
    return tuple(np.percentile(draws, [2.5, 97.5]))


def newcombe(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Newcombe (1998) method 10 for B - A: Wilson intervals of the margins, combined
    with the phi correlation."""
    n = a + b + c + d
    pa, pb = (a + b) / n, (a + c) / n
    la, ua = wilson(a + b, n)
    lb, ub = wilson(a + c, n)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denominator) if denominator else 0.0
    down = math.sqrt(max(0.0, (pb - lb) ** 2 - 2 * phi * (pb - lb) * (ua - pa) + (ua - pa) ** 2))
    up = math.sqrt(max(0.0, (ub - pb) ** 2 - 2 * phi * (ub - pb) * (pa - la) + (pa - la) ** 2))
    return pb - pa - down, pb - pa + up


def bootstrap_paired(cells: np.ndarray, rng, resamples: int) -> tuple[float, float]:
    n = int(cells.sum())
    drawn = rng.multinomial(n, cells / n, size=resamples)
    differences = (drawn[:, 2] - drawn[:, 1]) / n  # only B right minus only A right
    return tuple(np.percentile(differences, [2.5, 97.5]))


def share_table(sets: int, resamples: int, rng) -> tuple[list[list[str]], float]:
    rows, worst = [], 1.0
    for n, p in itertools.product(NS, PS):
        ks = rng.binomial(n, p, size=sets)
        found = {"clopper-pearson": [], "wilson": [], "bootstrap": []}
        for k in ks.tolist():
            found["clopper-pearson"].append(proportion_interval(k, n))
            found["wilson"].append(wilson(k, n))
            found["bootstrap"].append(bootstrap_share(k, n, rng, resamples))
        cells = [f"{n:>4}", f"{p:>5}"]
        for name, intervals in found.items():
            coverage, width = _score(intervals, p)
            if name == "clopper-pearson":
                worst = min(worst, coverage)
            cells.append(f"{coverage:6.1%} {width:5.3f}")
        rows.append(cells)
    return rows, worst


def paired_table(sets: int, resamples: int, rng) -> tuple[list[list[str]], float]:
    rows, worst = [], 1.0
    for n, p, delta, rho in itertools.product(NS, PS, (0.0, 0.1), (0.0, 0.8)):
        pa, pb = p, min(1.0, p + delta)
        both = rho * min(pa, pb) + (1 - rho) * pa * pb
        probabilities = [both, pa - both, pb - both, 1 - pa - pb + both]
        tables = rng.multinomial(n, probabilities, size=sets)
        found = {"bonett-price": [], "newcombe": [], "bootstrap": []}
        for t in tables:
            a, b, c, d = (int(x) for x in t)
            found["bonett-price"].append(paired_difference_interval(b, c, n))
            found["newcombe"].append(newcombe(a, b, c, d))
            found["bootstrap"].append(bootstrap_paired(t, rng, resamples))
        cells = [f"{n:>4}", f"{p:>5}", f"{delta:>4}", f"{rho:>4}"]
        for name, intervals in found.items():
            coverage, width = _score(intervals, pb - pa)
            if name == "bonett-price":
                worst = min(worst, coverage)
            cells.append(f"{coverage:6.1%} {width:5.3f}")
        rows.append(cells)
    return rows, worst


def _score(intervals: list[tuple[float, float]], truth: float) -> tuple[float, float]:
    low = np.array([i[0] for i in intervals])
    high = np.array([i[1] for i in intervals])
    covered = (low - 1e-12 <= truth) & (truth <= high + 1e-12)
    return float(covered.mean()), float((high - low).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows, worst_share = share_table(args.sets, args.resamples, rng)
    print(f"one share of n tasks: coverage and mean width over {args.sets} sets")
    print("   n     p  clopper-pearson*   wilson         bootstrap(old)")
    for row in rows:
        print("  ".join(row))
    rows, worst_paired = paired_table(args.sets, args.resamples, rng)
    print(f"\npaired difference B - A over n tasks: coverage and mean width over {args.sets} sets")
    print("   n     p delta  rho  bonett-price*    newcombe       bootstrap(old)")
    for row in rows:
        print("  ".join(row))
    print(
        f"\nlowest coverage of the intervals the report uses (*): share {worst_share:.1%}, "
        f"paired {worst_paired:.1%} (floor {FLOOR:.0%})"
    )
    return 0 if min(worst_share, worst_paired) >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
