"""Reports: the terminal report, CSV/DataFrame, compare, and report.html in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from looplab.metrics import load_run
from looplab.report import write_report
from looplab.runs import EvalConfig, read_results, run_eval
from tests.helpers.delay_server import DelayServer


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    server = DelayServer()
    base = tmp_path_factory.mktemp("runs")
    try:
        common = dict(
            tasks="arithmetic:n=10", model=f"openai:fake@{server.base_url}", concurrency=4
        )
        a = run_eval(EvalConfig(max_iters=1, **common), base / "a")
        b = run_eval(EvalConfig(max_iters=3, **common), base / "b")
    finally:
        server.close()
    return a, b


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "looplab.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_report_command_prints_tables_and_writes_files(runs, tmp_path):
    _, b = runs
    done = cli("report", str(b), "--csv", str(tmp_path / "attempts.csv"))
    assert done.returncode == 0, done.stderr
    for heading in (
        "accuracy per iteration",
        "flips",
        "the critic against ground truth",
        "pass@t",
        "stop reasons",
    ):
        assert heading in done.stdout
    source_line = next(line for line in done.stdout.splitlines() if "tells right" in line)
    for metric in ("AUROC", "AURC", "at 50% coverage", "ECE", "Brier"):
        assert metric in source_line
    # the critic wrote confidences, so its reliability diagram is drawn too
    for name in ("accuracy", "flips", "pass_at_t", "reliability", "risk_coverage"):
        assert (b / "plots" / f"{name}.png").stat().st_size > 1000
        assert (b / "plots" / f"{name}.svg").read_text().startswith("<?xml")
    rows = (tmp_path / "attempts.csv").read_text().splitlines()
    assert rows[0].startswith("task_id,sample,graph,iteration")
    assert len(rows) - 1 == sum(len(r.trajectory.attempts) for r in read_results(b))


def test_dataframe(runs):
    _, b = runs
    frame = load_run(b)
    assert set(frame["task_id"]) == {f"arith-d2s1-0-{i}" for i in range(10)}
    assert frame.groupby("task_id")["final"].sum().eq(1).all()


def test_compare_pairs_the_tasks(runs):
    a, b = runs
    done = cli("compare", str(a), str(b))
    assert done.returncode == 0, done.stderr
    assert "paired 10 tasks" in done.stdout and "McNemar exact p =" in done.stdout


def test_report_html_in_headless_chromium(runs, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs chromium; it is missing")
        pytest.skip(reason="chromium is not installed (apt-get install chromium)")
    _, b = runs
    _, page = write_report(b)
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,1800",
    ]

    def dom(fragment: str = "") -> str:
        # the page builds its trajectories after decompressing them: let its scripts finish
        done = subprocess.run(
            [*flags, "--virtual-time-budget=20000", "--dump-dom", page.as_uri() + fragment],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout

    shown = dom()
    assert "final accuracy" in shown and "the critic against ground truth" in shown
    assert shown.count('class="trajectory"') == 10
    assert 'id="shown">10<' in shown and "page 1 of 1" in shown
    assert "<svg" in shown  # the plots are inline
    # a search over the trajectories' text, and a filter, given in the link
    one = read_results(b)[3]
    searched = dom(f"#q={one.task_id}")
    assert searched.count('class="trajectory"') == 1 and one.task_id in searched
    repaired = sum(not r.grades[0] and r.final_correct for r in read_results(b))
    assert dom("#kind=wc").count('class="trajectory"') == repaired
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120
    )
    assert shot.stat().st_size > 20_000
    keep = os.environ.get("LOOPLAB_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, keep)


def test_oracle_runs_are_marked_everywhere(tmp_path):
    server = DelayServer()
    try:
        run = run_eval(
            EvalConfig(
                tasks="arithmetic:n=4",
                model=f"openai:fake@{server.base_url}",
                oracle=True,
                max_iters=2,
            ),
            tmp_path / "run",
        )
    finally:
        server.close()
    assert all(r.trajectory.oracle for r in read_results(run))
    metrics, page = write_report(run)
    assert metrics.oracle and "ORACLE: ground truth stopped these loops" in page.read_text()
    assert json.loads((run / "manifest.json").read_text())["config"]["oracle"] is True
