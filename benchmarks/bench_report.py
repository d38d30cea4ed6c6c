"""`looplab report` at 1,000 / 10,000 / 100,000 results, and report.html at 100,000 in Chromium.

The results are real trajectories (a run of the embedded model, or --source RUN_DIR)
copied under new task ids until each size is reached; the copies' tasks are written
as a jsonl task set so the report shows their prompts. For each size: wall time of
the whole `looplab report` command (start-up included) and its peak resident memory.
At the largest size, headless Chromium opens report.html: the time until the first
page of trajectories is on screen (measured by the page) and the browser's wall time,
then a search over all trajectories for a word that occurs in a known number of them.

    python benchmarks/bench_report.py [--source RUN_DIR] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from looplab.runs import read_results
from looplab.tasks import load_tasks

LOOPLAB = [sys.executable, "-m", "looplab.cli"]


def source_run(tmp: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    run = tmp / "source"
    print("making a source run: looplab eval on 40 arithmetic tasks with the embedded model ...")
    subprocess.run(
        [*LOOPLAB, "eval", "--tasks", "arithmetic:n=40", "--run-dir", str(run), "--no-report"],
        check=True,
        capture_output=True,
    )
    return run


def synthetic_run(source: Path, size: int, target: Path) -> int:
    """A run of ``size`` results copied from ``source``; returns its bytes of results."""
    manifest = json.loads((source / "manifest.json").read_text())
    config = manifest["config"]
    tasks = {t.id: t for t in load_tasks(config["tasks"], limit=config.get("limit"))}
    lines = [json.loads(line) for line in (source / "trajectories.jsonl").open()]
    lines = [line for line in lines if line["task_id"] in tasks]
    target.mkdir(parents=True)
    config.update(tasks=f"jsonl:{target / 'tasks.jsonl'}", limit=None)
    manifest["task_count"] = size
    (target / "manifest.json").write_text(json.dumps(manifest))
    with (target / "tasks.jsonl").open("w") as t, (target / "trajectories.jsonl").open("w") as r:
        for n in range(size):
            line = lines[n % len(lines)]
            task = tasks[line["task_id"]]
            new_id = f"{task.id}~{n}"
            row = {"id": new_id, "prompt": task.prompt, "family": task.family,
                   "answer": task.answer}  # fmt: skip
            t.write(json.dumps(row) + "\n")
            copy = {**line, "task_id": new_id}
            if copy.get("trajectory"):
                copy["trajectory"] = {**copy["trajectory"], "task_id": new_id}
            r.write(json.dumps(copy) + "\n")
    return (target / "trajectories.jsonl").stat().st_size


def timed_report(run: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of `looplab report RUN`."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [*LOOPLAB, "report", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"looplab report failed: {child.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


def chromium(page: Path, fragment: str, profile: Path) -> tuple[float, str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    flags = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=60000", "--dump-dom",
    ]  # fmt: skip
    started = time.perf_counter()
    dom = subprocess.run(
        [*flags, page.as_uri() + fragment], capture_output=True, text=True, timeout=600
    ).stdout
    return time.perf_counter() - started, dom


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", help="a run directory whose trajectories are copied")
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = source_run(tmp, args.source)
        print(f"source: {len(read_results(source))} real trajectories from {source}")
        for size in sizes:
            run = tmp / f"run{size}"
            results_bytes = synthetic_run(source, size, run)
            seconds, peak = timed_report(run)
            page = run / "report.html"
            print(
                f"looplab report, {size:>7,} results ({results_bytes / 2**20:,.0f} MiB of "
                f"results): {seconds:6.1f} s, peak memory {peak / 1024:,.0f} MiB, "
                f"report.html {page.stat().st_size / 2**20:,.1f} MiB"
            )
        if shutil.which("chromium") is None:
            print("chromium is not installed: the browser figures are left out")
            return
        wall, dom = chromium(page, "", tmp / "profile")
        shown_ms = re.search(r'data-shown-after-ms="(\d+)"', dom)
        shown_s = int(shown_ms.group(1)) / 1000 if shown_ms else float("nan")
        pages = re.search(r'id="page">([^<]*)<', dom)
        in_dom = dom.count('class="trajectory"')
        print(
            f"report.html, {size:,} results, headless Chromium: first page of trajectories on "
            f"screen after {shown_s:.2f} s ({pages.group(1) if pages else '?'}; browser wall "
            f"time incl. start {wall:.1f} s; {in_dom} trajectories in the DOM)"
        )
        word = _rare_word(source)
        expected = _count_matching(run, word)
        wall, dom = chromium(page, f"#q={word}", tmp / "profile2")
        shown = re.search(r'id="shown">([^<]*)<', dom)
        print(
            f"search over all {size:,} for {word!r}: {shown.group(1) if shown else '?'} shown "
            f"(expected {expected}); browser wall time {wall:.1f} s"
        )


def _rare_word(source: Path) -> str:
    """The task id of the first source result: it occurs in size/len(source) copies."""
    return read_results(source)[0].task_id + "~"


def _count_matching(run: Path, word: str) -> int:
    return sum(word.lower() in line.lower() for line in (run / "tasks.jsonl").open())


if __name__ == "__main__":
    main()
