"""Runs out (training data, inspect_ai logs) and tasks in (parquet, datasets folders).

Exports are read back with the libraries their users read them with (`datasets`,
inspect_ai's `read_eval_log`), and their counts are checked against counts computed
from the run's own records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from looplab.exports import ExportOptions, export_run, load_source, training_records
from looplab.records import Attempt, Critique, TaskResult, Trajectory, Usage
from looplab.runs import RunStore, read_results
from looplab.tasks import load_tasks

datasets = pytest.importorskip("datasets", reason="the [test] extra installs datasets")
inspect_log = pytest.importorskip("inspect_ai.log", reason="the [test] extra installs inspect_ai")

TASKS = [
    {"id": f"t{i}", "prompt": f"What is {i} + {i}?", "family": "arithmetic", "answer": str(2 * i)}
    for i in range(1, 7)
]


def attempt(iteration: int, text: str, kind: str = "initial", tokens: int = 10) -> Attempt:
    return Attempt(
        iteration=iteration,
        kind=kind,
        text=text,
        answer=text.rsplit(" ", 1)[-1],
        usage=Usage(prompt_tokens=tokens, completion_tokens=tokens // 2, calls=1),
        model="gen",
    )


def critique(iteration: int, verdict: str, feedback: str = "", **extra) -> Critique:
    return Critique(
        iteration=iteration,
        verdict=verdict,
        confidence=0.8,
        feedback=feedback,
        usage=Usage(prompt_tokens=7, completion_tokens=3, calls=1),
        model="crit",
        **extra,
    )


def result(task_id, sample, attempts, critiques, grades, **trajectory) -> TaskResult:
    return TaskResult(
        task_id=task_id,
        sample=sample,
        trajectory=Trajectory(
            task_id=task_id,
            graph="critic_loop",
            attempts=attempts,
            critiques=critiques,
            stop_reason="done",
            **trajectory,
        ),
        grades=grades,
        grade_details=["ok" if g else "wrong" for g in grades],
    )


def hand_built_run(tmp_path: Path) -> Path:
    """Six tasks: right at once (twice, the same text), repaired, never right, an oracle
    repair, a repair under perturbed feedback, and one failed task."""
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    run = tmp_path / "run"
    store = RunStore(run)
    store.create({"tasks": f"jsonl:{tasks}", "graph": "critic_loop", "model": "gen"}, 6)
    repair = "Let me fix it. Answer: 4"
    for r in [
        result("t1", 0, [attempt(0, "Answer: 2")], [critique(0, "correct")], [True]),
        result("t1", 1, [attempt(0, "Answer: 2")], [critique(0, "correct")], [True]),
        result(
            "t2",
            0,
            [attempt(0, "Answer: 5"), attempt(1, repair, "repair")],
            [critique(0, "incorrect", "2 + 2 is not 5"), critique(1, "correct")],
            [False, True],
        ),
        result(
            "t3",
            0,
            [attempt(0, "Answer: 7"), attempt(1, "Answer: 8", "repair")],
            [critique(0, "incorrect", "no"), critique(1, "correct")],
            [False, False],
        ),
        result(
            "t4",
            0,
            [attempt(0, "Answer: 9"), attempt(1, "Answer: 8", "repair")],
            [critique(0, "incorrect", "wrong", source="oracle")],
            [False, True],
            oracle=True,
        ),
        result(
            "t5",
            0,
            [attempt(0, "Answer: 1"), attempt(1, "Answer: 10", "repair")],
            [critique(0, "incorrect", "(none)", perturbation="no_feedback")],
            [False, True],
        ),
        TaskResult(task_id="t6", sample=0, error="backend down"),
    ]:
        store.append(r)
    store.close()
    return run


def test_each_training_export_reads_back_with_datasets_in_trls_columns(tmp_path):
    run = hand_built_run(tmp_path)
    expected_columns = {
        "sft": {"messages", "provenance"},
        "dpo": {"prompt", "chosen", "rejected", "provenance"},
        "critic": {"prompt", "completion", "label", "critic", "provenance"},
        "repairs": {"messages", "provenance"},
    }
    for kind, columns in expected_columns.items():
        summary = export_run(run, kind)
        assert summary.path == run / f"export-{kind}" / f"{kind}.jsonl"
        loaded = datasets.load_dataset("json", data_files=str(summary.path), split="train")
        assert set(loaded.column_names) == columns and len(loaded) == summary.records
        for row in loaded:
            conversations = (
                [row["messages"]] if "messages" in row else [row["prompt"], *_answers(row)]
            )
            for messages in conversations:
                assert all(set(m) == {"role", "content"} for m in messages)
                assert all(isinstance(m["content"], str) and m["content"] for m in messages)
            if "prompt" in row:
                assert [m["role"] for m in row["prompt"]] == ["user"]
            if "messages" in row:
                roles = [m["role"] for m in row["messages"]]
                assert roles[0] == "user" and roles[-1] == "assistant"
        card = (summary.path.parent / "README.md").read_text()
        assert f"data_files: {kind}.jsonl" in card and f"| records | {summary.records} |" in card


def _answers(row):
    return [row[k] for k in ("chosen", "rejected", "completion") if k in row]


def test_exported_counts_equal_the_counts_in_the_runs_records(tmp_path):
    run = hand_built_run(tmp_path)
    kept = [
        r
        for r in read_results(run)
        if r.trajectory is not None
        and not r.error
        and not r.trajectory.oracle
        and not any(c.perturbation for c in r.trajectory.critiques)
    ]
    right_finals = sum(r.final_correct for r in kept)
    repairs = sum(
        1
        for r in kept
        for i in range(len(r.grades) - 1)
        if r.trajectory.attempts[i + 1].kind == "repair" and not r.grades[i] and r.grades[i + 1]
    )
    judgements = sum(c.source == "model" for r in kept for c in r.trajectory.critiques)
    attempts = sum(len(r.grades) for r in kept)
    no_dedup = ExportOptions(dedup=False)
    source = load_source(run)
    assert (right_finals, repairs, judgements, attempts) == (3, 1, 6, 6)
    assert len(training_records(source, "sft", no_dedup).records) == right_finals
    assert len(training_records(source, "repairs", no_dedup).records) == repairs
    judged = ExportOptions(dedup=False, judged_only=True)
    assert len(training_records(source, "critic", judged).records) == judgements
    assert len(training_records(source, "critic", no_dedup).records) == attempts
    # t1 answered the same twice: one record survives de-duplication
    deduped = training_records(source, "sft")
    assert (len(deduped.records), deduped.duplicates) == (2, 1)
    assert deduped.left_out == {"oracle": 1, "perturbed": 1, "failed": 1}
    first = training_records(source, "sft", ExportOptions(sft="first")).records
    repaired = training_records(source, "sft", ExportOptions(sft="repaired")).records
    assert [r["provenance"]["task_id"] for r in first] == ["t1"]
    assert [r["provenance"]["task_id"] for r in repaired] == ["t2"]


def test_records_hold_the_loops_words_and_never_the_reference(tmp_path):
    run = hand_built_run(tmp_path)
    source = load_source(run)
    (repair,) = training_records(source, "repairs").records
    texts = [m["content"] for m in repair["messages"]]
    assert texts[0] == "What is 2 + 2?" and texts[1] == "Answer: 5"
    assert "2 + 2 is not 5" in texts[2] and texts[3] == "Let me fix it. Answer: 4"
    assert repair["provenance"] | {"run": None} == {
        "run": None,
        "task_set": source.spec,
        "task_id": "t2",
        "sample": 0,
        "iteration": 1,
        "repaired_iteration": 0,
        "model": "gen",
        "feedback_source": "model",
        "graph": "critic_loop",
        "oracle": False,
        "perturbed": [],
    }
    (pair,) = [
        p for p in training_records(source, "dpo").records if p["provenance"]["task_id"] == "t2"
    ]
    assert pair["chosen"][0]["content"].endswith("Answer: 4")
    assert pair["rejected"][0]["content"] == "Answer: 5"
    # t3 has wrong attempts only: no pair
    assert {p["provenance"]["task_id"] for p in training_records(source, "dpo").records} == {"t2"}
    critic = training_records(source, "critic").records
    assert {
        (r["completion"][0]["content"], r["label"], r["critic"]["verdict"]) for r in critic
    } >= {
        ("Answer: 8", False, "correct")  # the critic was wrong here: the label says so
    }
    # the reference answers ("12" for t6, ...) appear nowhere, nor does a grade detail
    text = (export_run(run, "critic").path).read_text()
    assert '"answer"' not in text and "wrong" not in text.replace("Answer", "")


def test_oracle_and_perturbed_results_come_in_only_when_asked_and_marked(tmp_path):
    run = hand_built_run(tmp_path)
    source = load_source(run)
    everything = ExportOptions(include_oracle=True, include_perturbed=True)
    repairs = training_records(source, "repairs", everything).records
    by_task = {r["provenance"]["task_id"]: r["provenance"] for r in repairs}
    assert set(by_task) == {"t2", "t4", "t5"}
    assert by_task["t4"]["oracle"] is True and by_task["t4"]["feedback_source"] == "oracle"
    assert by_task["t5"]["perturbed"] == ["no_feedback"]
    assert by_task["t2"]["oracle"] is False and by_task["t2"]["perturbed"] == []
    summary = export_run(run, "repairs", tmp_path / "all" / "r.jsonl", options=everything)
    card = summary.card.read_text()
    assert "| records from oracle-steered results | 1 |" in card
    assert "| records marked perturbed: no_feedback | 1 |" in card


def test_the_inspect_log_reads_back_sample_by_sample(tmp_path):
    run = hand_built_run(tmp_path)
    summary = export_run(run, "inspect")
    assert summary.path.suffix == ".eval"
    log = inspect_log.read_eval_log(str(summary.path))
    results = read_results(run)
    assert log.status == "success" and len(log.samples) == len(results)
    graded = [r for r in results if not r.error]
    accuracy = sum(r.final_correct for r in graded) / len(graded)
    assert log.results.scores[0].metrics["accuracy"].value == pytest.approx(accuracy)
    samples = {(s.id, s.epoch): s for s in log.samples}
    assert set(samples) == {(r.task_id, r.sample + 1) for r in results}
    for r in results:
        sample = samples[r.task_id, r.sample + 1]
        if r.error:
            assert sample.error is not None and "backend down" in sample.error.message
            continue
        t = r.trajectory
        assert sample.scores["grade"].value == ("C" if r.final_correct else "I")
        model_critiques = {c.iteration: c for c in t.critiques if c.source == "model"}
        critic_scores = {k: v for k, v in sample.scores.items() if k.startswith("critic_")}
        assert {k: s.value for k, s in critic_scores.items()} == {
            f"critic_{i}": c.verdict for i, c in model_critiques.items()
        }
        for key, score in critic_scores.items():
            assert score.metadata["attempt_right"] == r.grades[int(key.split("_")[1])]
        assistant = [m.text for m in sample.messages if m.role == "assistant"]
        assert assistant == [a.text for a in t.attempts]
        generator = sample.role_usage["generator"]
        assert generator.input_tokens == sum(a.usage.prompt_tokens for a in t.attempts)
        assert sample.role_usage["critic"].total_tokens == sum(
            c.usage.total_tokens for c in t.critiques
        )
        task = next(x for x in TASKS if x["id"] == r.task_id)
        assert sample.target == task["answer"] and sample.input == task["prompt"]


def test_export_cli_writes_files_and_bad_input_is_one_line(tmp_path):
    run = hand_built_run(tmp_path)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "looplab.cli", "export", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = cli(str(run), "--as", "dpo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        str(run / "export-dpo" / "dpo.jsonl"),
        str(run / "export-dpo" / "README.md"),
    ]
    for args, message in [
        ((str(run), "--as", "rlhf"), "unknown export 'rlhf'"),
        ((str(run), "--as", "sft", "--sft", "some"), "sft='some'"),
        ((str(tmp_path / "nowhere"), "--as", "sft"), "not a run directory"),
        ((str(run), "--as", "sft", "--tasks", "jsonl:/nope.jsonl"), "give --tasks SPEC"),
    ]:
        done = cli(*args)
        assert done.returncode == 2, (args, done.stdout)
        assert message in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


# ---- tasks in: parquet, datasets folders and files -----------------------------------


def test_parquet_and_datasets_folders_give_the_same_tasks_as_their_jsonl(tmp_path):
    rows = [{**t, "metadata": {"level": i % 3}, "visible_tests": None} for i, t in enumerate(TASKS)]
    source = tmp_path / "tasks.jsonl"
    source.write_text(
        "".join(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in rows)
    )
    table = datasets.Dataset.from_list(rows)
    table.to_parquet(str(tmp_path / "tasks.parquet"))
    table.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"train": table, "test": table}).save_to_disk(str(tmp_path / "splits"))
    expected = load_tasks(f"jsonl:{source}")
    for spec in (
        f"parquet:{tmp_path / 'tasks.parquet'}",
        f"hf:{tmp_path / 'saved'}",
        f"hf:{tmp_path / 'splits'}#test",
        f"hf:{tmp_path / 'tasks.parquet'}",
        f"hf:{source}",
    ):
        assert load_tasks(spec) == expected, spec


def test_a_column_mapping_loads_other_names_and_a_bad_one_says_what_exists(tmp_path):
    from looplab.errors import EvalError

    table = datasets.Dataset.from_list(
        [{"question": "What is 3 + 4?", "solution": "7", "level": 2}]
    )
    table.to_parquet(str(tmp_path / "math.parquet"))
    (task,) = load_tasks(f"parquet:{tmp_path / 'math.parquet'}:prompt=question,answer=solution")
    assert (task.id, task.prompt, task.answer, task.metadata) == (
        "math-0",
        "What is 3 + 4?",
        "7",
        {"level": 2},
    )
    with pytest.raises(
        EvalError,
        match=r"no column 'problem' \(mapped to prompt\); its columns: question, solution, level",
    ):
        load_tasks(f"parquet:{tmp_path / 'math.parquet'}:prompt=problem,answer=solution")
    with pytest.raises(EvalError, match="no column 'prompt': map one"):
        load_tasks(f"parquet:{tmp_path / 'math.parquet'}")
    datasets.DatasetDict({"train": table, "test": table}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(EvalError, match="choose one: it has train, test"):
        load_tasks(f"hf:{tmp_path / 'dd'}:prompt=question,answer=solution")


def test_gsm8k_loads_the_same_from_parquet_and_a_datasets_folder(tmp_path):
    from tests.helpers.data import data_dir

    jsonl = data_dir() / "gsm8k" / "test.jsonl"
    if not jsonl.is_file():
        pytest.skip(reason=f"the shared GSM8K copy is not at {jsonl}")
    lines = [json.loads(line) for line in jsonl.open()][:50]
    table = datasets.Dataset.from_list(lines)
    table.to_parquet(str(tmp_path / "test.parquet"))
    datasets.DatasetDict({"test": table}).save_to_disk(str(tmp_path / "gsm8k"))

    def essence(spec):
        return [(t.id, t.prompt, t.answer, t.metadata["solution"]) for t in load_tasks(spec)]

    expected = essence(f"gsm8k:{jsonl}")[:50]
    assert essence(f"gsm8k:{tmp_path / 'test.parquet'}") == expected
    assert essence(f"gsm8k:{tmp_path / 'gsm8k'}#test") == expected


# ---- the real thing -----------------------------------------------------------------


@pytest.mark.slow
def test_a_real_embedded_run_exports_every_kind(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "looplab.cli",
            "eval",
            "--tasks",
            "arithmetic:n=4",
            "--max-iters",
            "2",
            "--run-dir",
            str(run),
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = read_results(run)
    no_dedup = ExportOptions(dedup=False)
    for kind in ("sft", "dpo", "critic", "repairs"):
        summary = export_run(run, kind, options=no_dedup)
        if summary.records:  # datasets refuses an empty file (the model may repair nothing)
            loaded = datasets.load_dataset("json", data_files=str(summary.path), split="train")
            assert len(loaded) == summary.records
    assert export_run(run, "sft", options=no_dedup).records == sum(r.final_correct for r in results)
    assert export_run(run, "critic", options=no_dedup).records == sum(
        len(r.grades) for r in results
    )
    log = inspect_log.read_eval_log(str(export_run(run, "inspect").path))
    assert sorted(s.id for s in log.samples) == sorted(r.task_id for r in results)


def test_an_attempt_the_model_did_not_wholly_write_is_no_training_data(tmp_path):
    """A repair continued from a checker's correction starts with text the model never
    produced: it is no repair, sft answer or dpo side; a critic still judged it."""
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    run = tmp_path / "run"
    store = RunStore(run)
    store.create({"tasks": f"jsonl:{tasks}", "graph": "calc_check", "model": "gen"}, 1)
    continued = attempt(1, "2 + 2 = 4. Answer: 4", "repair").model_copy(update={"prefilled": 9})
    store.append(
        result(
            "t2",
            0,
            [attempt(0, "2 + 2 = 5. Answer: 5"), continued],
            [critique(0, "incorrect", "2+2 = 4, not 5"), critique(1, "correct")],
            [False, True],
        )
    )
    store.close()
    source = load_source(run)
    for kind in ("repairs", "sft", "dpo"):
        assert training_records(source, kind, ExportOptions(dedup=False)).records == [], kind
    judged = training_records(source, "critic", ExportOptions(dedup=False)).records
    assert len(judged) == 2
