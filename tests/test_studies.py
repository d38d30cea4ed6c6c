"""Each study preset end to end on the embedded model with a small limit, and the study
summaries on hand-built results."""

from __future__ import annotations

import json

import pytest

from looplab.records import Attempt, TaskResult, Trajectory
from looplab.studies import oracle_stopped_accuracy
from tests.helpers.cli import cli
from tests.helpers.data import data_dir
from tests.test_eval_e2e import need_sandbox


def test_oracle_stopped_accuracy_is_the_first_right_answer_carried_forward():
    def result(grades):
        attempts = [Attempt(iteration=i, text="") for i in range(len(grades))]
        t = Trajectory(task_id="t", graph="self_refine", attempts=attempts)
        return TaskResult(task_id="t", trajectory=t, grades=grades)

    results = [result([False, True, False]), result([True, False, False]), result([False] * 3)]
    upper = oracle_stopped_accuracy(results, 3)
    assert [e.value for e in upper] == [1 / 3, 2 / 3, 2 / 3]


@pytest.mark.slow
def test_intrinsic_self_correction_study(tmp_path):
    data = data_dir()
    done = cli("study", "intrinsic-self-correction", "--limit", "2", "--data", str(data),
               "--run-dir", str(tmp_path / "s"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ORACLE-STOPPED (upper bound)" in done.stdout and "GPT-3.5-Turbo" in done.stdout
    summary = json.loads((tmp_path / "s" / "study.json").read_text())
    assert summary["runs"] == {"self-correction": str(tmp_path / "s" / "self-correction")}
    lines = (tmp_path / "s" / "self-correction" / "trajectories.jsonl").read_text().splitlines()
    results = [json.loads(line) for line in lines]
    assert len(results) == 2
    # two rounds of revision always, whatever the critic said: three attempts each
    assert all(len(r["trajectory"]["attempts"]) == 3 for r in results)
    assert not any(r["trajectory"]["oracle"] for r in results)


@pytest.mark.slow
def test_self_repair_study(tmp_path):
    need_sandbox()
    done = cli("study", "self-repair", "--limit", "1", "--samples", "2", "--repairs", "1",
               "--run-dir", str(tmp_path / "s"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pass rate against tokens" in done.stdout and "(no repair)" in done.stdout
    tables = json.loads((tmp_path / "s" / "study.json").read_text())["tables"]
    cells = {(row[0], row[1].split()[0]) for row in tables[0]["rows"]}
    assert {("1", "0"), ("2", "0"), ("1", "1"), ("2", "1")} == cells
    assert (tmp_path / "s" / "self_repair.png").stat().st_size > 1000
    assert "<svg" in (tmp_path / "s" / "self_repair.svg").read_text()


@pytest.mark.slow
def test_mistake_finding_study(tmp_path):
    data = data_dir()
    target = tmp_path / "s"
    done = cli("study", "mistake-finding", "--limit", "1", "--data", str(data),
               "--run-dir", str(target))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "from a RANDOM step (control)" in done.stdout
    rows = json.loads((target / "study.json").read_text())["tables"][0]["rows"]
    assert [row[0] for row in rows] == [
        "dyck_languages", "logical_deduction", "multistep_arithmetic",
        "tracking_shuffled_objects", "word_sorting", "all",
    ]  # fmt: skip
    again = cli("study", "mistake-finding", "--limit", "1", "--data", str(data),
                "--run-dir", str(target))  # fmt: skip
    assert again.returncode == 0 and "resuming: 5 of 5 already done" in again.stderr
