"""GSM8K and BIG-Bench Mistake from the shared data, GSM8K's calculator syntax, the
calculator against every annotation, and the self-repair estimator."""

from __future__ import annotations

import itertools
import json

import pytest

from looplab.agents import Generator
from looplab.answers import extract_answer
from looplab.errors import EvalError
from looplab.metrics import PoolProgram, expected_cell
from looplab.records import Task
from looplab.tasks import (
    Grader,
    agrees_with_annotation,
    annotations,
    check_calculator,
    gsm8k_reference,
    load_tasks,
)
from looplab.tools import Calculator, Gsm8kSyntax, ToolRegistry, tool_system_prompt
from tests.helpers.data import data_dir
from tests.helpers.scripted import ScriptedModel


@pytest.fixture(scope="module")
def gsm8k():
    return load_tasks(f"gsm8k:{data_dir() / 'gsm8k'}")


def test_gsm8k_loads_all_problems_with_their_reference_numbers(gsm8k):
    assert len(gsm8k) == 1319
    first = gsm8k[0]
    assert first.id == "gsm8k-0" and first.answer == "18" and first.family == "gsm8k"
    assert first.prompt.startswith("Janet") and "####" in first.metadata["solution"]
    assert "solution" not in first.public().model_dump_json()
    assert all(t.answer and "," not in t.answer for t in gsm8k)


def test_every_gsm8k_reference_grades_right_against_its_own_checker(gsm8k):
    grader = Grader()
    assert sum(grader.grade(t, t.answer).correct for t in gsm8k) == 1319


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She makes 9 * 2 = $18 every day.\nAnswer: $18", True),
        ("Answer: 18 dollars", True),
        ("Answer: $18.00", True),
        ("The answer is **18**.", True),
        ("Answer: 18 dollars per day for 7 days", True),
        ("16 - 3 - 4 = 9 eggs, 9 * 2 = 18\n#### 18", True),
        ("Answer: 9 * 2 = 18", True),
        ("Answer: 1,8", False),
        ("Answer: 81", False),
        ("She earns 18 dollars.", False),  # no final-answer statement: not guessed
    ],
)
def test_gsm8k_answers_in_tricky_formats(gsm8k, text, expected):
    task = gsm8k[0]
    assert Grader().grade(task, extract_answer(text, task.family)).correct is expected


def test_gsm8k_references_with_commas_and_decimals():
    assert gsm8k_reference("... = <<1000*1.5=1500>>1500\n#### 1,500") == "1500"
    task = Task(id="x", prompt="?", family="gsm8k", answer="1500")
    for answer in ["1,500", "$1,500", "1500.0", "1.5e3", "1500 dollars"]:
        assert Grader().grade(task, answer).correct, answer
    with pytest.raises(EvalError, match="no '#### N' line"):
        gsm8k_reference("no reference")


def test_bad_data_files_are_one_clear_error(tmp_path):
    bad = tmp_path / "test.jsonl"
    bad.write_text('{"question": "q", "answer": "no reference"}\n')
    with pytest.raises(EvalError, match=r"test.jsonl:1: no '#### N' line"):
        load_tasks(f"gsm8k:{bad}")
    bad.write_text("not json\n")
    with pytest.raises(EvalError, match=r"test.jsonl:1: not valid JSON"):
        load_tasks(f"gsm8k:{tmp_path}")
    with pytest.raises(EvalError, match="give the data's path"):
        load_tasks("gsm8k")


def test_the_calculator_agrees_with_every_gsm8k_annotation(gsm8k):
    check = check_calculator(gsm8k)
    assert check.total == len(annotations(gsm8k)) == 4282
    assert check.agreed == 4282, check.disagreements[:5]


def test_annotation_agreement_allows_the_annotators_rounding_only():
    assert (
        agrees_with_annotation("10/3", "3.33")[0]
        and agrees_with_annotation("3.3333333333", "3.33")[0]
    )
    assert (
        not agrees_with_annotation("25", "24")[0] and not agrees_with_annotation("3.34", "3.33")[0]
    )
    assert "not a number" in agrees_with_annotation("x = y", "3")[1]


def test_gsm8k_syntax_runs_the_calculator_and_replaces_the_models_guess():
    model = ScriptedModel(
        ["She sold 48/2 = <<48/2=25>>", " clips. Then <<48+24=", " in all.\n#### 72"]
    )
    generation = Generator(model, [Calculator()], syntax=Gsm8kSyntax()).generate([])
    assert (
        generation.text == "She sold 48/2 = <<48/2=24>> clips. Then <<48+24=72>> in all.\n#### 72"
    )
    first, second = generation.tool_calls
    assert (first.input, first.output, first.discarded_text) == ("48/2", "24", "25")
    assert second.output == "72" and model.requests[0][1].stop == (">>",)
    assert extract_answer(generation.text, "gsm8k") == "72"


def test_gsm8k_syntax_reports_errors_in_its_own_convention():
    model = ScriptedModel(["x <<1/0=", "?>> so no answer"])
    generation = Generator(model, [Calculator()], syntax=Gsm8kSyntax()).generate([])
    assert "<<1/0=error: " in generation.text and not generation.tool_calls[0].ok
    prompt = tool_system_prompt(ToolRegistry([Calculator()]), Gsm8kSyntax())
    assert "<<17*23=" in prompt and "391>>" in prompt


@pytest.fixture(scope="module")
def bbm():
    return load_tasks(f"bbmistake:{data_dir() / 'big-bench-mistake'}")


def test_big_bench_mistake_loads_every_trace_with_its_label(bbm):
    assert len(bbm) == 2186
    by_task = {}
    for t in bbm:
        by_task[t.metadata["bbm_task"]] = by_task.get(t.metadata["bbm_task"], 0) + 1
    assert by_task == {
        "dyck_languages": 986,
        "logical_deduction": 300,
        "multistep_arithmetic": 300,
        "tracking_shuffled_objects": 300,
        "word_sorting": 300,
    }
    labelled = [t for t in bbm if t.metadata["mistake_step"] is not None]
    assert all(1 <= t.metadata["mistake_step"] <= len(t.draft) for t in labelled)
    assert all("mistake_step" not in t.public().model_dump_json() for t in bbm[:50])


def test_big_bench_mistake_per_task_limit_and_single_files(bbm):
    folder = data_dir() / "big-bench-mistake"
    small = load_tasks(f"bbmistake:{folder}#2")
    assert len(small) == 10 and len({t.metadata["bbm_task"] for t in small}) == 5
    one = load_tasks(f"bbmistake:{folder / 'word_sorting.jsonl'}")
    assert len(one) == 300 and one[0].id == "bbm-word_sorting-0"


def test_big_bench_mistake_traces_grade_as_the_data_says(bbm):
    """The trace's own answer, extracted from its last step, is graded right exactly when the
    data set's answer equals its target (a check of extraction and grading on real traces)."""
    grader = Grader()
    disagree = [
        t.id
        for t in bbm
        if grader.grade(t, extract_answer("\n".join(t.draft), t.family)).correct
        != (t.metadata["trace_answer"] == t.answer)
    ]
    # the data's answer field differs from the target only by formatting (").", " (C)")
    assert len(disagree) <= 4, disagree


# -- the self-repair estimator --------------------------------------------------


def brute_force(pool, n_p, n_fr):
    """The exact expectation: each choice of programs equally likely, and for each, each
    choice of repairs of its failing programs equally likely."""
    per_choice = []
    for programs in itertools.combinations(pool, n_p):
        options = [
            list(itertools.combinations(p.repairs, n_fr)) if p.failed_visible and n_fr else [()]
            for p in programs
        ]
        outcomes = []
        for repairs in itertools.product(*options):
            ok = any(p.passed_hidden for p in programs) or any(
                passed for chosen in repairs for passed, _ in chosen
            )
            cost = sum(p.tokens for p in programs) + sum(
                used for chosen in repairs for _, used in chosen
            )
            outcomes.append((ok, cost))
        per_choice.append(
            (
                sum(o for o, _ in outcomes) / len(outcomes),
                sum(c for _, c in outcomes) / len(outcomes),
            )
        )
    n = len(per_choice)
    return sum(s for s, _ in per_choice) / n, sum(c for _, c in per_choice) / n


POOL = [
    PoolProgram(False, True, 100, ((True, 40), (False, 50), (False, 45))),
    PoolProgram(True, False, 120),
    PoolProgram(False, True, 90, ((False, 30), (False, 35), (True, 60))),
    PoolProgram(False, True, 110, ((False, 20), (False, 25), (False, 30))),
]


@pytest.mark.parametrize(("n_p", "n_fr"), [(1, 0), (1, 1), (2, 1), (2, 3), (3, 2), (4, 3)])
def test_the_grid_estimator_matches_brute_force_enumeration(n_p, n_fr):
    solved, tokens = expected_cell(POOL, n_p, n_fr, draws=40000, seed=1)
    exact_solved, exact_tokens = brute_force(POOL, n_p, n_fr)
    assert solved == pytest.approx(exact_solved, abs=0.01)
    assert tokens == pytest.approx(exact_tokens, rel=0.01)


def test_cells_the_pool_cannot_support_are_left_out():
    assert expected_cell(POOL, 5, 1) is None and expected_cell(POOL, 1, 4) is None


def test_pool_from_results_reads_programs_and_repairs():
    from looplab.metrics import pools
    from looplab.records import Attempt, Critique, TaskResult, Trajectory, Usage

    def attempt(i, tokens):
        return Attempt(
            iteration=i,
            kind="initial" if i == 0 else "repair",
            text="",
            usage=Usage(prompt_tokens=tokens),
        )

    t = Trajectory(
        task_id="a", graph="repair_pool",
        attempts=[attempt(0, 10), attempt(1, 5), attempt(1, 6)],
        critiques=[Critique(iteration=0, source="tests", verdict="incorrect")],
    )  # fmt: skip
    (program,) = pools([TaskResult(task_id="a", trajectory=t, grades=[False, True, False])])["a"]
    assert program == PoolProgram(False, True, 10, ((True, 5), (False, 6)))
    assert json.dumps(program.repairs)


def test_tasks_check_grades_gsm8k_and_validates_the_calculator():
    from typer.testing import CliRunner

    from looplab.cli import app

    done = CliRunner().invoke(
        app, ["tasks", "check", f"gsm8k:{data_dir() / 'gsm8k'}", "--calculator"]
    )
    assert done.exit_code == 0, done.output
    assert "1319 of 1319 passed" in done.output
    assert "calculator: 4282 of 4282 annotations agree" in done.output


def test_plain_arithmetic_is_the_same_calculation_without_the_story():
    from looplab.tasks import arithmetic_tasks

    story = arithmetic_tasks(5, steps=2, ops="*+")
    plain = arithmetic_tasks(5, steps=2, ops="*+", style="plain")
    for s, p in zip(story, plain, strict=True):
        assert p.answer == s.answer and p.prompt.startswith("What is (")
        assert eval(p.prompt.removeprefix("What is ").rstrip("?")) == int(p.answer)
