"""`looplab export` on a 10,000-result run: every kind, timed as a user runs it.

The run is real trajectories (a run of the embedded model, or --source RUN_DIR) copied
under new task ids until the size is reached, as in bench_report.py. For each kind:
wall time of the whole `looplab export RUN --as KIND` command (start-up included), its
peak resident memory and the records written. The floor in the same run: reading the
run's results alone (`read_results`, in a fresh process), which every export pays.
Copies share their texts, so de-duplication would drop most records: the timed exports
run with --no-dedup (and keep oracle-steered and perturbed results, so that a source run
with oracle feedback, which has repairs, exercises every kind) and write one record per
qualifying attempt. The inspect log is written in both of inspect_ai's formats: ``.eval``
(its default, a zip of zstd-compressed samples) and ``.json``.

    python benchmarks/bench_export.py [--source RUN_DIR] [--size 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import source_run, synthetic_run

LOOPLAB = [sys.executable, "-m", "looplab.cli"]
FLOOR = [sys.executable, "-c", "import sys; from looplab.runs import read_results; "
         "print(len(read_results(sys.argv[1])))"]  # fmt: skip


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) and stderr of a command."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[3:]} failed: {stderr[-2000:]}")
    return elapsed, usage.ru_maxrss, stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", help="a run directory whose trajectories are copied")
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = source_run(tmp, args.source)
        run = tmp / "run"
        size_bytes = synthetic_run(source, args.size, run)
        print(f"run: {args.size:,} results, {size_bytes / 2**20:,.0f} MiB of results")
        floor, peak, _ = timed([*FLOOR, str(run)])
        print(f"floor, read_results alone: {floor:5.1f} s, peak memory {peak / 1024:,.0f} MiB")
        keep_all = ["--no-dedup", "--include-oracle", "--include-perturbed"]
        for kind, extra in [
            *((kind, keep_all) for kind in ("sft", "dpo", "critic", "repairs")),
            ("inspect", ["--out", str(tmp / "log.eval")]),
            ("inspect", ["--out", str(tmp / "log.json")]),
        ]:
            seconds, peak, said = timed([*LOOPLAB, "export", str(run), "--as", kind, *extra])
            label = kind if kind != "inspect" else f"inspect ({Path(extra[1]).suffix})"
            print(
                f"looplab export --as {label:<16} {seconds:5.1f} s ({seconds / floor:5.1f}x the "
                f"floor), peak memory {peak / 1024:,.0f} MiB: {said}"
            )


if __name__ == "__main__":
    main()
