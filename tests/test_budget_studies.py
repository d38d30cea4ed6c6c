"""The compute and feedback studies: arms, tables and token accounting against a fake
OpenAI-compatible server (fixed usage per call), and end to end on the embedded model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from looplab.errors import ConfigError
from looplab.runs import read_results
from looplab.studies import STUDIES, StudyOptions, arm_tokens, matched_baseline, run_study
from tests.helpers.cli import cli
from tests.helpers.delay_server import DelayServer


@pytest.fixture(scope="module")
def server():
    fake = DelayServer(delay_s=0.0)
    yield f"openai:fake@{fake.base_url}"
    fake.close()


def recorded_tokens(run: Path) -> int:
    """Every role's tokens, summed over the run's recorded completions."""
    total = 0
    for line in (run / "completions.jsonl").open():
        usage = json.loads(line)["completion"]["usage"]
        total += usage["prompt_tokens"] + usage["completion_tokens"]
    return total


def test_compute_study_arms_tables_and_token_accounting(tmp_path, server):
    options = StudyOptions(model=server, limit=4, budgets=(2, 4), concurrency=4)
    _, tables, root = run_study("compute", options, tmp_path / "compute")
    arms = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert arms == sorted([
        "single", "self_consistency@2", "self_consistency@4", "best_of_n@2", "best_of_n@4",
        "self_refine@2", "self_refine@4", "tool_critic@2", "tool_critic@4", "debate@6",
        "tree_search@2", "tree_search@4", "reflexion@2", "reflexion@4", "chain_of_verification",
    ])  # fmt: skip
    for arm in arms:
        results = read_results(root / arm)
        assert len(results) == 4 and all(r.error is None for r in results), arm
        # the study's mean tokens per task are the recorded completions' tokens / tasks
        mean, roles = arm_tokens(results)
        assert mean.value == pytest.approx(recorded_tokens(root / arm) / len(results)), arm
        assert roles["generator"] + roles["critic"] == pytest.approx(mean.value), arm
    by_arm = {row[0]: row for row in tables[0].rows}
    assert set(by_arm) == set(arms)
    # single: one call of 60 tokens per task; best_of_n@4: four samples and four verdicts
    assert by_arm["single"][2].startswith("60 ")
    assert by_arm["best_of_n@4"][2].startswith("480 ")
    assert by_arm["debate@6"][2].startswith("360 ")
    pairs = {row[0]: row for row in tables[1].rows}
    assert set(pairs) == set(arms) - {"single", "self_consistency@2", "self_consistency@4"}
    assert pairs["best_of_n@2"][1] == "self_consistency@4"  # 240 tokens: the same as k=4
    assert pairs["best_of_n@2"][2] == "1.00×"
    assert "NOT matched" in pairs["best_of_n@4"][2]  # 480 tokens: no vote spent as much
    summary = json.loads((root / "study.json").read_text())
    assert [Path(f).name for f in summary["figures"]] == ["compute.png", "compute.svg"]


def test_matched_baseline_is_the_nearest_by_ratio():
    baselines = {"single": 60.0, "self_consistency@3": 180.0, "self_consistency@5": 300.0}
    assert matched_baseline(200.0, baselines) == ("self_consistency@3", pytest.approx(200 / 180))
    assert matched_baseline(1000.0, baselines)[0] == "self_consistency@5"


def test_feedback_study_arms_and_the_oracle_is_marked(tmp_path, server):
    # the tool critic is asked for by name (+ARM: on top of the default arms)
    options = StudyOptions(model=server, limit=5, concurrency=4, arms=("+critic-calculator",))
    _, tables, root = run_study("feedback", options, tmp_path / "feedback")
    shown = [row[0] for row in tables[0].rows]
    assert shown == [
        "intrinsic", "critic + calculator", "calculator checks", "calculator edit, continued",
        "ORACLE (upper bound)",
    ]  # fmt: skip
    # folders are plain slugs a shell needs no quotes for; the shown name is in the manifest
    arms = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert arms == sorted(
        ["intrinsic", "critic-calculator", "calculator-checks", "calculator-edit", "oracle"]
    )
    manifest = json.loads((root / "calculator-edit" / "manifest.json").read_text())
    assert manifest["labels"] == {
        "study": "feedback", "arm": "calculator-edit", "shown": "calculator edit, continued",
    }  # fmt: skip
    assert manifest["config"]["repair_mode"] == "continue"
    assert manifest["config"]["max_iters"] == 2  # the first attempt and one repair
    assert "No separate critic model was given" in tables[0].note
    oracle = read_results(root / "oracle")
    assert all(r.trajectory.oracle for r in oracle)
    assert not any(r.trajectory.oracle for r in read_results(root / "intrinsic"))
    calculator = read_results(root / "critic-calculator")
    assert all(r.trajectory.graph == "tool_critic" for r in calculator)
    checks = read_results(root / "calculator-checks")
    assert all(r.trajectory.graph == "calc_check" for r in checks)
    assert [row[0] for row in tables[1].rows] == shown[1:]
    for arm in arms:
        results = read_results(root / arm)
        mean, _ = arm_tokens(results)
        assert mean.value == pytest.approx(recorded_tokens(root / arm) / len(results))


def test_feedback_study_default_arms_and_arms_by_name(server):
    arms = STUDIES["feedback"].arms(StudyOptions(model=server))
    assert list(arms) == ["intrinsic", "calculator-checks", "calculator-edit", "oracle"]
    picked = STUDIES["feedback"].arms(StudyOptions(model=server, arms=("calculator-edit",)))
    assert list(picked) == ["intrinsic", "calculator-edit"]  # intrinsic is the yardstick
    with pytest.raises(ConfigError, match="unknown feedback arm 'calc': use one of intrinsic"):
        STUDIES["feedback"].arms(StudyOptions(model=server, arms=("calc",)))


def test_feedback_study_on_code_uses_the_visible_tests(tmp_path, server):
    critic = "openai:other@http://127.0.0.1:9/v1"
    options = StudyOptions(model=server, limit=2, tasks="code", critic_model=critic)
    arms = STUDIES["feedback"].arms(options)
    assert list(arms) == ["intrinsic", "critic-model", "visible-tests", "self-tests", "oracle"]
    assert arms["visible-tests"].graph == "test_repair"
    assert arms["self-tests"].graph == "self_tests"
    asked = StudyOptions(model=server, limit=2, arms=("+reflexion",))
    assert STUDIES["feedback"].arms(asked)["reflexion"].graph == "reflexion"
    assert "self-tests" not in STUDIES["feedback"].arms(asked)  # code only


@pytest.mark.slow
def test_both_studies_on_the_embedded_model(tmp_path):
    done = cli("study", "feedback", "--limit", "3", "--run-dir", str(tmp_path / "f"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "where the feedback comes from" in done.stdout and "ORACLE" in done.stdout
    done = cli("study", "compute", "--limit", "2", "--budgets", "2",
               "--run-dir", str(tmp_path / "c"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accuracy against tokens" in done.stdout
    for arm in (tmp_path / "c").iterdir():
        if arm.is_dir():
            results = read_results(arm)
            mean, _ = arm_tokens(results)
            assert mean.value == pytest.approx(recorded_tokens(arm) / len(results)), arm.name
    assert (tmp_path / "c" / "compute.png").is_file()


def test_flag_recall_counts_wrong_attempts_any_checker_called_incorrect():
    from looplab.records import Attempt, Critique, TaskResult, Trajectory
    from looplab.studies import flag_recall

    def result(grades, verdicts, source="tool"):
        attempts = [Attempt(iteration=i, text="") for i in range(len(grades))]
        critiques = [
            Critique(iteration=i, source=source, verdict=v) for i, v in enumerate(verdicts)
        ]
        t = Trajectory(task_id="t", graph="calc_check", attempts=attempts, critiques=critiques)
        return TaskResult(task_id=f"t{len(grades)}{verdicts}", trajectory=t, grades=grades)

    results = [
        result([False, True], ["incorrect", "correct"]),  # 1 wrong, flagged
        result([False], ["correct"]),  # 1 wrong, missed
        result([False, False], ["incorrect", None]),  # flagged; no verdict counts as missed
        result([True], ["correct"]),  # no wrong attempt
    ]
    assert flag_recall(results).value == pytest.approx(2 / 4)
    oracle_only = [result([False], ["incorrect"], source="oracle")]
    assert flag_recall(oracle_only) is None


def test_first_to_final_and_the_first_verdicts_by_hand():
    from looplab.records import Attempt, Critique, TaskResult, Trajectory
    from looplab.studies import first_to_final, first_verdicts

    def result(i, grades, verdict):
        attempts = [Attempt(iteration=k, text="") for k in range(len(grades))]
        critiques = [Critique(iteration=0, source="model", verdict=verdict)]
        t = Trajectory(task_id=f"t{i}", graph="self_refine", attempts=attempts, critiques=critiques)
        return TaskResult(task_id=f"t{i}", trajectory=t, grades=grades)

    results = (
        [result(i, [False, True], "incorrect") for i in range(6)]  # repaired
        + [result(6, [True, False], "incorrect")]  # broken
        + [result(i, [False], "correct") for i in range(7, 9)]
        + [result(9, [True], None)]  # unparsed: neither
        + [TaskResult(task_id="t10", error="boom")]  # failed: wrong both times
    )
    change, p = first_to_final(results)
    assert change.value == pytest.approx(5 / 11) and change.method == "bonett-price"
    assert p == pytest.approx(0.125)  # 6 of 7 discordant one way: 2 * 8 / 128
    assert first_verdicts(results) == (2, 7, 1)
    assert first_to_final([*results, result(0, [True], "correct")]) is None  # two samples


def test_compute_study_ranks_best_of_n_by_a_verifier_at_equal_tokens(tmp_path, server):
    import numpy as np

    from looplab.agents import task_key
    from looplab.verifiers import Examples, fit_verifier

    # a verifier on features a server's answers have (no hidden state, no logprobs)
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 3))
    right = rows[:, 0] + rng.normal(size=60) > 0
    examples = Examples(
        ("length", "agreement"),
        ("length", "agreement", "agreement missing"),
        rows,
        right,
        [task_key(f"t{i // 3}") for i in range(60)],
        "",
    )
    path = tmp_path / "verifier.json"
    path.write_text(fit_verifier(examples).verifier.model_dump_json())
    options = StudyOptions(model=server, limit=3, budgets=(2,), verifier=str(path))
    _, tables, root = run_study("compute", options, tmp_path / "compute")
    results = read_results(root / "best_of_n+verifier@2")
    assert len(results) == 3 and all(r.error is None for r in results)
    critiques = [c for r in results for c in r.trajectory.critiques]
    assert {c.confidence_source for c in critiques} == {"learned"}
    assert all("learned verifier" in c.raw for c in critiques)
    by_arm = {row[0]: row for row in tables[0].rows}
    # two samples, no critic call: the tokens of self_consistency@2
    assert (
        by_arm["best_of_n+verifier@2"][2].split()[0] == by_arm["self_consistency@2"][2].split()[0]
    )
    pairs = {row[0]: row for row in tables[1].rows}
    assert pairs["best_of_n+verifier@2"][1] == "self_consistency@2"
