"""report.html at 100,000 results: it opens, pages, and searches all of them in Chromium.

The results are hand-built (cheap to make); one of them carries hostile text that
tries to close the script holding the data and inject an element: it must be
found by search and shown as text, never parsed as HTML.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from looplab.records import Attempt, Critique, TaskResult, Trajectory, Usage
from looplab.report import write_report
from looplab.runs import RunStore

SIZE = 100_000
HOSTILE = '</script><b id="pwned">needle-in-the-haystack</b><script>'


def _result(n: int) -> TaskResult:
    text = f"Step one: {n} + 1 = {n + 1}.\nAnswer: {n + 1}"
    if n == 77_777:
        text = HOSTILE + "\n" + text
    grades = [n % 3 == 0, n % 2 == 0]
    attempts = [
        Attempt(
            iteration=i,
            kind="initial" if i == 0 else "repair",
            text=text,
            answer=str(n + 1),
            usage=Usage(prompt_tokens=40, completion_tokens=20, calls=1),
        )
        for i in range(2)
    ]
    critiques = [Critique(iteration=0, verdict="incorrect", confidence=0.7, raw="{}")]
    trajectory = Trajectory(task_id=f"t{n}", graph="critic_loop", attempts=attempts,
                            critiques=critiques, stop_reason="max_iterations")  # fmt: skip
    return TaskResult(task_id=f"t{n}", trajectory=trajectory, grades=grades)


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("big") / "run"
    tasks = run.parent / "tasks.jsonl"
    with tasks.open("w") as f:
        for n in range(SIZE):
            f.write(
                json.dumps({"id": f"t{n}", "prompt": f"What is {n} + 1?", "answer": str(n + 1)})
            )
            f.write("\n")
    store = RunStore(run)
    store.create({"tasks": f"jsonl:{tasks}", "graph": "critic_loop"}, task_count=SIZE)
    with store.results_path.open("a") as f:  # one write: appending 100,000 fsyncs is not the point
        f.writelines(_result(n).model_dump_json() + "\n" for n in range(SIZE))
    return run


def _chromium(tmp_path, url: str) -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs chromium; it is missing")
        pytest.skip(reason="chromium is not installed (apt-get install chromium)")
    flags = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=120000", "--dump-dom",
    ]  # fmt: skip
    return subprocess.run([*flags, url], capture_output=True, text=True, timeout=300).stdout


@pytest.mark.slow
def test_report_html_at_100000_results_pages_and_searches_in_chromium(big_run, tmp_path):
    metrics, page = write_report(big_run)
    assert metrics.results == SIZE and metrics.tasks == SIZE
    assert metrics.accuracy[0].value == pytest.approx(sum(n % 3 == 0 for n in range(SIZE)) / SIZE)
    html = page.read_text()
    assert "pwned" not in html  # the hostile text is inside the compressed data only

    first = _chromium(tmp_path, page.as_uri())
    assert first.count('class="trajectory"') == 50
    assert f'id="shown">{SIZE}<' in first and f"page 1 of {SIZE // 50}" in first
    assert "final accuracy" in first

    found = _chromium(tmp_path, page.as_uri() + "#q=needle-in-the-haystack")
    assert found.count('class="trajectory"') == 1 and 'id="shown">1<' in found
    assert "t77777#0" in found
    assert '<b id="pwned">' not in found  # shown as text, never parsed as HTML
    assert "&lt;/script&gt;&lt;b id=" in found

    repaired = _chromium(tmp_path, page.as_uri() + "#kind=wc")
    expected = sum(n % 3 != 0 and n % 2 == 0 for n in range(SIZE))
    assert f'id="shown">{expected}<' in repaired
