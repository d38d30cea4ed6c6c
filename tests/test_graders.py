"""The benchmark answer kinds: each grader against a hand-checked table of tricky cases.

math (LaTeX, math-verify), multiple choice, short-answer QA (SQuAD), MBPP code; their
loaders from the usual releases' layouts (fixtures in tests/data/benchmarks), through
jsonl:, parquet: and hf: too; and the family registry's errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from looplab.answers import ANSWER_KINDS, answer_format, extract_answer
from looplab.errors import EvalError
from looplab.prompts import solve_messages, task_request
from looplab.records import Task
from looplab.tasks import (
    Grader,
    best_f1,
    chosen_letter,
    exact_match,
    latex_equal,
    load_tasks,
    math_reference,
    normalize_answer,
    stated_unit,
    token_f1,
)

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"


def _math(ref: str) -> Task:
    return Task(id="m", prompt="?", family="math", answer=ref)


# (reference, the model's whole text, right?) -- each checked by hand
MATH_TABLE = [
    (r"\frac{1}{2}", r"so $x=\frac12$. Answer: \boxed{\dfrac{1}{2}}", True),
    (r"\frac{1}{2}", r"Answer: \boxed{0.5}", True),
    (r"\frac{1}{2}", "Answer: 1/2", True),
    (r"\frac{1}{2}", r"Answer: \boxed{\frac{1}{3}}", False),
    (r"\frac{1}{3}", r"Answer: \boxed{0.333}", False),  # a rounded decimal is not exact
    (r"2\sqrt{2}", r"Answer: \boxed{\sqrt{8}}", True),
    (r"x^2+1", r"Answer: \boxed{1 + x^2}", True),
    (r"x^2+1", r"Answer: \boxed{x^2}", False),  # a dropped term
    (r"(1,-2)", r"Answer: \boxed{\left( 1, -2 \right)}", True),
    (r"(1,-2)", r"Answer: \boxed{(-1,-2)}", False),
    (r"[6,\infty)", r"Answer: \boxed{(6,\infty)}", False),  # open is not closed
    (r"\text{Monday}", r"Answer: \boxed{\text{monday}}", True),
    (r"5\text{ cm}", r"Answer: \boxed{5}", True),  # the unit may be left out
    (r"5\text{ cm}", r"Answer: \boxed{5\text{ cm}}", True),
    (r"5\text{ cm}", r"Answer: \boxed{5\text{ m}}", False),  # but not swapped
    (r"12\text{ inches}^2", r"Answer: \boxed{12 \mbox{inch}^2}", True),
    (r"\frac{1}{2004!}", r"Answer: \boxed{-\frac{1}{2004!}}", False),  # tiny, not zero
    (r"\frac \pi4 + 2 - \sqrt2", r"Answer: \boxed{2}", False),  # unbraced \frac
    (r"\frac \pi4 + 2 - \sqrt2", r"Answer: \boxed{\frac{\pi}{4}+2-\sqrt{2}}", True),
    (
        r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}",
        r"Answer: \boxed{\begin{pmatrix}1\\3\end{pmatrix}}",
        False,
    ),
    (r"3", r"\boxed{4} was wrong, so \boxed{3}", True),  # the last box counts
    (r"3", "I think it is three.", False),  # no stated answer
    (r"3", r"Answer: \boxed{9^{9^{9^{9^{9}}}}}", False),  # hostile: bounded, refused
]


@pytest.mark.parametrize(("ref", "text", "right"), MATH_TABLE)
def test_math_grader_table(ref: str, text: str, right: bool) -> None:
    answer = extract_answer(text, "math")
    assert Grader().grade(_math(ref), answer).correct is right


def test_math_reference_is_the_last_box_with_nested_braces() -> None:
    solution = r"First $\boxed{1}$, then $\boxed{\frac{\sqrt{3}}{2}}$."
    assert math_reference(solution) == r"\frac{\sqrt{3}}{2}"
    assert math_reference(r"so \fbox{7}.") == "7"
    assert math_reference(r"unclosed \boxed{3") is None


def test_stated_units_are_words_after_a_number() -> None:
    assert stated_unit(r"5\text{ cm}") == "cm"
    assert stated_unit(r"90\text{ square units}") == "square unit"
    assert stated_unit("2x") is None and stated_unit(r"\text{Monday}") is None


def test_latex_equal_answers_none_for_what_it_cannot_parse() -> None:
    assert latex_equal("3", "}{") is None
    grade = Grader().grade(_math("3"), "}{")
    assert not grade.correct and grade.detail.startswith("math-verify could not")


def test_math_set_loads_the_release_folder_and_its_ids() -> None:
    from tests.helpers.data import data_dir

    tasks = load_tasks(f"math:{data_dir() / 'math'}")
    assert len(tasks) == 5000
    assert tasks[0].id == "test/algebra/1" and tasks[0].answer == "2"
    assert {t.family for t in tasks} == {"math"}
    assert "solution" in tasks[0].metadata and "level" in tasks[0].metadata
    assert tasks[0].metadata["solution"] not in task_request(tasks[0].public())


def test_math_loads_a_column_answer_through_a_mapping(tmp_path: Path) -> None:
    rows = [{"unique_id": "u1", "question": "1+1?", "final": "2"}]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (task,) = load_tasks(f"math:{path}:prompt=question,answer=final")
    assert (task.id, task.prompt, task.answer) == ("u1", "1+1?", "2")


# -- multiple choice ------------------------------------------------------------------

LETTER_TABLE = [
    ("Answer: B", "B"),
    ("Answer: (c)", "C"),
    ("The answer is D) 100.", "D"),
    ("Answer: **A**", "A"),
    ("Answer: option E", "E"),
    (r"so \boxed{B}", "B"),
    ("Answer: B: 60", "B"),
    ("Answer: 60", "B"),  # the choice's text, matched to its letter
    ("Answer: F", None),  # no sixth choice
    ("Answer: A lot of them", None),  # a word that starts with a letter
    ("no answer line", None),
]


@pytest.mark.parametrize(("text", "letter"), LETTER_TABLE)
def test_choice_letters_are_read_from_the_usual_forms(text: str, letter: str | None) -> None:
    task = Task(id="q", prompt="?", family="choice", choices=["40", "60", "80", "100", "120"],
                answer="B")  # fmt: skip
    answer = extract_answer(text, "choice")
    assert (chosen_letter(task, answer) if answer is not None else None) == letter
    assert Grader().grade(task, answer).correct is (letter == "B")


@pytest.mark.parametrize(
    ("spec", "letter", "choices"),
    [
        ("aqua.jsonl", "C", ["15", "20", "30", "45", "60"]),  # "A)15" prefixes removed
        ("commonsenseqa.jsonl", "B", ["oven", "refrigerator", "shelf", "garden", "attic"]),
        ("mmlu.jsonl", "C", ["Venus", "Earth", "Mercury", "Mars"]),  # a 0-based index
        ("arc.jsonl", "B", ["wood", "copper", "glass", "rubber"]),  # labels 1-4
    ],
)
def test_choice_loader_reads_each_release_layout(spec: str, letter: str, choices: list) -> None:
    task = load_tasks(f"choice:{FIXTURES / spec}")[-1]
    assert task.answer == letter and task.choices == choices
    shown = task_request(task.public())
    assert "Choices:\nA. " + choices[0] in shown and f"{letter}. " in shown
    assert "Answer: <letter>" in answer_format("choice")


def test_a_choice_task_from_jsonl_needs_a_letter_in_range(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    row = {"id": "1", "prompt": "?", "family": "choice", "choices": ["x", "y"], "answer": "C"}
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(EvalError, match="one of their letters"):
        load_tasks(f"jsonl:{path}")
    path.write_text(json.dumps({**row, "answer": "B"}) + "\n")
    assert load_tasks(f"jsonl:{path}")[0].choices == ["x", "y"]


# -- short-answer QA -----------------------------------------------------------------

# (prediction, truths, EM, F1): hand-computed with SQuAD v1.1's definitions
SQUAD_TABLE = [
    ("France", ["France"], True, 1.0),
    ("in France", ["France", "in France"], True, 1.0),
    ("the Eiffel Tower!", ["Eiffel Tower"], True, 1.0),  # article and punctuation go
    ("Eiffel", ["Eiffel Tower"], False, 2 / 3),  # P 1, R 1/2
    ("the big red barn", ["red barn"], False, 0.8),  # P 2/3, R 1
    ("Paris, Texas", ["Paris"], False, 2 / 3),
    ("1,000", ["1000"], True, 1.0),  # punctuation inside a number goes too
    ("", ["Iron"], False, 0.0),
    ("Fe", ["Iron", "Fe", "Ferrum"], True, 1.0),
]


@pytest.mark.parametrize(("prediction", "truths", "em", "f1"), SQUAD_TABLE)
def test_squad_exact_match_and_f1_table(prediction, truths, em, f1) -> None:
    task = Task(id="q", prompt="?", family="qa", answer=truths[0], aliases=truths[1:])
    grade = Grader().grade(task, prediction)
    assert grade.correct is em
    assert grade.score == pytest.approx(f1)
    assert best_f1(prediction, truths) == pytest.approx(f1)


def test_squad_normalisation_is_the_official_one() -> None:
    assert normalize_answer("  The Quick, brown FOX.  ") == "quick brown fox"
    assert normalize_answer("An apple a day") == "apple day"
    assert exact_match("the cat", "Cat") and token_f1("x y z", "z w") == pytest.approx(0.4)


def test_a_missing_answer_scores_zero() -> None:
    task = Task(id="q", prompt="?", family="qa", answer="x")
    assert Grader().grade(task, None).score == 0.0


def test_qa_loader_reads_squad_and_triviaqa_layouts() -> None:
    squad = load_tasks(f"qa:{FIXTURES / 'squad.jsonl'}")
    assert squad[0].answer == "France" and squad[0].aliases == ["in France"]
    assert (
        squad[0].prompt.startswith("The Normans") and "Question: In what country" in squad[0].prompt
    )
    trivia = load_tasks(f"qa:{FIXTURES / 'triviaqa.jsonl'}")
    assert (trivia[0].id, trivia[0].answer, trivia[0].aliases) == ("tq-1", "Iron", ["Fe", "Ferrum"])
    assert "aliases" not in task_request(trivia[0].public())


def test_qa_runs_record_the_f1_score_beside_the_grade(tmp_path: Path) -> None:
    from looplab.metrics import compute_metrics
    from looplab.records import Attempt, TaskResult, Trajectory

    def result(task_id: str, answer: str, correct: bool, f1: float) -> TaskResult:
        attempt = Attempt(iteration=0, kind="sample", text=f"Answer: {answer}", answer=answer)
        trajectory = Trajectory(task_id=task_id, attempts=[attempt], graph="self_consistency")
        return TaskResult(task_id=task_id, trajectory=trajectory, grades=[correct], scores=[f1])

    m = compute_metrics([result("a", "France", True, 1.0), result("b", "Eiffel", False, 0.5)])
    assert m.final_score is not None and m.final_score.value == pytest.approx(0.75)
    assert m.final_accuracy.value == pytest.approx(0.5)


# -- MBPP ----------------------------------------------------------------------------


def test_mbpp_loader_takes_the_name_from_the_tests_and_shows_only_the_first() -> None:
    tasks = load_tasks(f"mbpp:{FIXTURES / 'mbpp.jsonl'}")
    first, vowels, area = tasks
    assert (first.id, first.entry_point) == ("901", "max_of_three")
    assert area.entry_point == "circle_area"  # inside math.isclose(...)
    assert "max_of_three(1, 2, 3)" in first.visible_tests
    assert "max_of_three(5, -1, 2)" not in first.visible_tests
    assert "max_of_three(5, -1, 2)" in first.hidden_tests
    assert "rhythm" in vowels.hidden_tests  # challenge tests grade too
    assert "rhythm" not in task_request(vowels.public())
    assert first.metadata["canonical_solution"].startswith("def max_of_three")


def test_mbpp_answers_are_graded_in_the_sandbox() -> None:
    from looplab.sandbox import make_sandbox

    first, _, area = load_tasks(f"mbpp:{FIXTURES / 'mbpp.jsonl'}")
    box = make_sandbox("auto")
    try:
        grader = Grader(box)
        right = "def max_of_three(a, b, c):\n    return max(a, b, c)"
        wrong = "def max_of_three(a, b, c):\n    return a"
        assert grader.grade(first, right).correct
        assert not grader.grade(first, wrong).correct
        text = "```python\nimport math\ndef circle_area(r):\n    return math.pi * r ** 2\n```"
        assert grader.grade(area, extract_answer(text, "mbpp")).correct
    finally:
        box.close()


# -- the registry --------------------------------------------------------------------


def test_every_family_has_an_answer_kind_and_an_example() -> None:
    for name, kind in ANSWER_KINDS.items():
        assert kind.name == name and kind.instruction and kind.about
        messages = solve_messages(Task(id="t", prompt="?", family=name, entry_point="f"))
        assert messages[0].content.endswith(kind.instruction)


def test_an_unknown_family_names_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        json.dumps({"id": "1", "prompt": "?", "family": "choise", "answer": "A"}) + "\n"
    )
    with pytest.raises(EvalError, match="unknown family 'choise': use one of custom, "):
        load_tasks(f"jsonl:{path}")


def test_benchmark_kinds_load_from_parquet_and_hf_with_a_mapping(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {"q": ["Capital of Italy?"], "a": ["Rome"], "opts": [["Rome", "Milan"]]}
    pq.write_table(pa.table(rows), tmp_path / "t.parquet")
    (qa,) = load_tasks(f"parquet:{tmp_path / 't.parquet'}:prompt=q,answer=a,family=qa")
    assert (qa.family, qa.answer) == ("qa", "Rome")
    (mc,) = load_tasks(f"choice:{tmp_path / 't.parquet'}:prompt=q,choices=opts,answer=a")
    assert (mc.answer, mc.choices) == ("A", ["Rome", "Milan"])
    (hf,) = load_tasks(f"hf:{tmp_path / 't.parquet'}:prompt=q,answer=a,family=qa")
    assert hf.answer == "Rome"


def test_a_mapping_to_no_field_is_refused() -> None:
    with pytest.raises(EvalError, match="'bogus' is not a field: map any of"):
        load_tasks(f"choice:{FIXTURES / 'mmlu.jsonl'}:bogus=question")


def test_hostile_math_answers_are_bounded_and_refused() -> None:
    from looplab.answers import boxed_contents

    assert boxed_contents("\\boxed{" * 100_000) is None  # one pass, not one scan per box
    assert boxed_contents("\\boxed{" * 1000 + "7}") == "7"
    grader = Grader()
    assert not grader.grade(_math("3"), "3" * 5000).correct  # too long to parse: not parsed
    assert latex_equal("3", "3" * 5000) is None


@pytest.mark.parametrize(
    ("spec", "count"),
    [
        (f"choice:{FIXTURES / 'aqua.jsonl'}", 2),
        (f"qa:{FIXTURES / 'squad.jsonl'}", 2),
        (f"mbpp:{FIXTURES / 'mbpp.jsonl'}", 3),
        ("browse:n=5", 5),
    ],
)
def test_tasks_check_grades_each_kinds_references(spec: str, count: int) -> None:
    from typer.testing import CliRunner

    from looplab.cli import app

    done = CliRunner().invoke(app, ["tasks", "check", spec])
    assert done.exit_code == 0, done.output
    assert f"{count} of {count} passed" in done.output


def test_tasks_list_names_every_task_set_and_answer_kind() -> None:
    from typer.testing import CliRunner

    from looplab.cli import app

    text = CliRunner().invoke(app, ["tasks", "list"]).output
    for form in ("math:PATH[:MAP]", "choice:PATH[:MAP]", "qa:PATH[:MAP]", "mbpp:PATH[:MAP]"):
        assert form in text
    assert all(name in text for name in ANSWER_KINDS)


def test_a_bad_benchmark_file_is_one_line_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"question": "?", "choices": ["a", "b"], "answer": 7}) + "\n")
    with pytest.raises(EvalError, match=r"c.jsonl:1: answer 7 is not one of the 2 choices"):
        load_tasks(f"choice:{path}")
    path.write_text(json.dumps({"text": "f", "test_list": ["print(1)"]}) + "\n")
    with pytest.raises(EvalError, match="cannot tell the function's name"):
        load_tasks(f"mbpp:{path}")
    path.write_text(json.dumps({"question": "?", "answers": {"text": []}}) + "\n")
    with pytest.raises(EvalError, match="no reference answer"):
        load_tasks(f"qa:{path}")
