"""A newcomer's first hour: mistakes leave nothing behind, every bad output path is one
line, Ctrl-C stops at once and says how to resume, reports say what they are, token
counts are never silently zero, and help and errors list what the registries hold."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from looplab.errors import EvalError
from looplab.runs import EvalConfig, RunStore, read_results, run_eval
from tests.helpers.delay_server import DelayServer

PROBLEM = (
    "Femi has 95 books. Then Femi ends up with 7 times as many books as before. "
    "How many books does Femi have now?"
)


@pytest.fixture(scope="module")
def server():
    fake = DelayServer(delay_s=0.0)
    yield f"openai:fake@{fake.base_url}"
    fake.close()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, server) -> Path:
    run = tmp_path_factory.mktemp("runs") / "done"
    run_eval(EvalConfig(model=server, graph="self_refine", limit=4, max_iters=1), run)
    return run


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "looplab.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


# -- the main job's critic and its repair -------------------------------------------------


@pytest.mark.slow
def test_the_embedded_critic_is_not_a_constant(embedded_model):
    """Its few-shot examples balanced and its reasons written before its verdict, the
    135M critic calls a wrong first answer of the main job wrong and a right one right
    (before: "correct", 0.9 for every answer, copied from its last worked example)."""
    from looplab.agents import Critic
    from looplab.tasks import load_tasks

    tasks = {t.id: t for t in load_tasks("arithmetic", limit=20)}
    critic = Critic(embedded_model)
    wrong = critic.critique(
        tasks["arith-d2s1-0-12"].public(),
        "Jun gives away 27, so Jun has 27 - 27 = 12 more stamps.\nAnswer: 12",
        iteration=0,
    )
    right = critic.critique(
        tasks["arith-d2s1-0-19"].public(),
        "Gus has 10 coins and finds 15 more, so he has 10 + 15 = 25 coins.\nAnswer: 25",
        iteration=0,
    )
    assert (wrong.verdict, right.verdict) == ("incorrect", "correct")


@pytest.mark.slow
def test_a_calculator_edit_is_continued_into_a_right_answer(embedded_model):
    """The main job's acting arm on the real model: the calculator puts the first wrong
    step right in place and the model goes on from there."""
    from looplab.agents import Generator
    from looplab.graphs import LoopSetup, calc_check, run_loop
    from looplab.llm import CompletionOptions
    from looplab.records import TaskView

    setup = LoopSetup(
        generator=Generator(embedded_model, options=CompletionOptions(max_tokens=160)),
        max_iters=2,
        repair_mode="continue",
    )
    trajectory = run_loop(calc_check(setup), TaskView(id="t", prompt=PROBLEM, family="arithmetic"))
    first, repair = trajectory.attempts
    assert first.answer == "635"  # 95 * 7 miscomputed
    check = trajectory.critiques[0]
    assert check.verdict == "incorrect" and check.correction.endswith("95 * 7 = 665")
    assert repair.text.startswith(check.correction) and repair.answer == "665"


def test_continue_mode_goes_on_from_the_correction_and_rewrite_from_the_feedback():
    """Scripted: in continue mode the repair is the task asked as at first, the answer
    prefilled with the checker's correction; in rewrite mode, the feedback conversation.
    A critique without a correction (a model critic's) is repaired by rewriting."""
    from looplab.agents import Critic, Generator
    from looplab.graphs import LoopSetup, calc_check, critic_loop, run_loop
    from looplab.records import TaskView
    from tests.helpers.scripted import ScriptedModel

    task = TaskView(id="t", prompt=PROBLEM, family="arithmetic")
    wrong = "So she has 95 * 7 = 635 books.\nAnswer: 635"
    for mode in ("continue", "rewrite"):
        model = ScriptedModel([wrong, " books.\nAnswer: 665"])
        setup = LoopSetup(generator=Generator(model), max_iters=2, repair_mode=mode)
        trajectory = run_loop(calc_check(setup), task)
        asked, _ = model.requests[1]
        if mode == "continue":
            assert trajectory.attempts[1].text == "So she has 95 * 7 = 665 books.\nAnswer: 665"
            # the model did not write the corrected start: marked, kept out of training data
            assert trajectory.attempts[1].prefilled == len("So she has 95 * 7 = 665")
            assert asked[-1].role == "assistant" and asked[-1].content.endswith("95 * 7 = 665")
            assert asked[-2].content == PROBLEM or PROBLEM in asked[-2].content
        else:
            assert "The calculator disagrees" in asked[-1].content and asked[-1].role == "user"
    verdict = '{"feedback": "wrong", "verdict": "incorrect", "confidence": 0.9}'
    model = ScriptedModel([wrong, "Answer: 665"])
    critic = Critic(ScriptedModel([verdict, verdict]))
    setup = LoopSetup(
        generator=Generator(model), critic=critic, max_iters=2, repair_mode="continue"
    )
    run_loop(critic_loop(setup), task)
    asked, _ = model.requests[1]
    assert asked[-1].role == "user" and "wrong" in asked[-1].content  # rewritten


def test_repair_tools_are_the_repairs_alone(server):
    """--repair-tools calc: the first answer is asked without the calculator, repairs with
    it (CRITIC's correction step)."""
    from looplab.agents import Generator
    from looplab.graphs import LoopSetup, calc_check, run_loop
    from looplab.records import TaskView
    from looplab.runs import LoopConfig, build_setup
    from looplab.tools import make_tools
    from tests.helpers.scripted import ScriptedModel

    _, _, built = build_setup(LoopConfig(graph="calc_check", model=server, repair_tools=["calc"]))
    assert list(built.repairer.tools.names) == ["calc"] and not len(built.generator.tools)
    model = ScriptedModel(["So 95 * 7 = 635.\nAnswer: 635", "Answer: 665"])
    setup = LoopSetup(
        generator=Generator(model), repairer=Generator(model, make_tools(["calc"])), max_iters=2
    )
    run_loop(calc_check(setup), TaskView(id="t", prompt=PROBLEM, family="arithmetic"))
    (first, _), (repair, _) = model.requests
    assert "<calc>" not in first[0].content and "<calc>" in repair[0].content


# -- mistakes leave nothing behind ----------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        ["--graph", "critc_loop"],
        ["--tools", "calcc"],
        ["--feedback", "orcale"],
        ["--fault", "calc:2.0"],
        ["--fault", "calc:0.5"],  # a fault for a tool the generator does not have
        ["--tasks", "arithmetic:n=abc"],
        ["--repair-tools", "calcc"],
        ["--repair-mode", "sideways"],
        ["--model", "opnai:x"],
    ],
)
def test_a_mistyped_option_leaves_no_run_directory_and_draws_nothing(tmp_path, option):
    run = tmp_path / "run"
    done = cli("eval", *option, "--run-dir", str(run), "--limit", "1")
    assert done.returncode == 2
    one_error_line(done.stderr)
    assert not run.exists()
    assert "0/1" not in done.stderr  # no progress drawn before the run starts


def test_a_run_that_never_started_is_replaced_and_a_started_one_is_not(tmp_path, server):
    run = tmp_path / "run"
    left = RunStore(run)  # what a command that failed before its first task left behind
    left.create({"tasks": "arithmetic", "graph": "calc_check"}, task_count=1)
    left.close()
    config = EvalConfig(model=server, graph="self_refine", limit=2, max_iters=1)
    run_eval(config, run)
    assert len(read_results(run)) == 2
    assert RunStore(run).config().graph == "self_refine"
    with pytest.raises(EvalError, match="already holds a run"):
        run_eval(config, run)


def test_a_run_being_written_is_not_written_by_a_second_process(tmp_path, server):
    run = tmp_path / "run"
    run_eval(EvalConfig(model=server, graph="self_refine", limit=1, max_iters=1), run)
    writer = RunStore(run)
    writer.lock()
    try:
        with pytest.raises(EvalError, match="being written by another looplab process"):
            run_eval(None, run, resume=True)
    finally:
        writer.close()
    run_eval(None, run, resume=True)  # released: the resume goes ahead


def test_a_bad_knob_names_the_knob_and_its_type():
    from looplab.tasks import load_tasks

    with pytest.raises(EvalError, match="knob n takes a whole number, not 'abc'"):
        load_tasks("arithmetic:n=abc")
    with pytest.raises(EvalError, match="unknown knob 'size': use one of n, digits"):
        load_tasks("arithmetic:size=3")


# -- every bad output path is one line, and nothing is half-written --------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["export", "{run}", "--as", "sft", "--out", "/proc/x.jsonl"],
        ["export", "{run}", "--as", "sft", "--out", "{file}/x.jsonl"],
        ["export", "{run}", "--as", "repairs", "--out", "/sys/x.jsonl"],
        ["export", "{run}", "--as", "inspect", "--out", "/proc/x.eval"],
        ["report", "{run}", "--csv", "/proc/a.csv"],
        ["report", "{run}", "--csv", "{file}/a.csv"],
        ["report", "{run}", "--csv", "{folder}"],
        ["eval", "--limit", "1", "--run-dir", "{file}/run"],
        ["eval", "--limit", "1", "--run-dir", "/proc/run"],
        ["study", "feedback", "--limit", "1", "--run-dir", "/proc/study"],
        ["run", "hi", "--save", "/proc/x.json"],
        ["tasks", "check", "arithmetic", "--limit", "1", "--json", "{file}/v.json"],
    ],
)
def test_an_unwritable_output_path_is_one_line_and_writes_nothing(tmp_path, finished_run, command):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    before = sorted(p.name for p in finished_run.rglob("*"))
    filled = [part.format(run=finished_run, file=a_file, folder=tmp_path) for part in command]
    done = cli(*filled)
    assert done.returncode == 2, done.stdout + done.stderr
    line = one_error_line(done.stderr)
    assert re.match(r"error: --(out|csv|run-dir|save|json) ", line), line
    assert done.stdout == ""  # the check comes before any work
    assert sorted(p.name for p in finished_run.rglob("*")) == before
    assert a_file.read_text() == "not a folder"


# -- Ctrl-C ---------------------------------------------------------------------------------


def interrupt_after(args: list[str], ready: str, *, cwd: Path | None = None):
    """Start looplab with Ctrl-C at its default, send SIGINT once ``ready`` shows on stdout
    or stderr (and a second more, so that the model is generating); return the seconds it
    took to exit and the process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "looplab.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = ""
    assert process.stdout is not None
    while ready not in seen:
        char = process.stdout.read(1)
        assert char, f"looplab ended before {ready!r}: {seen[-2000:]}"
        seen += char
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    rest, _ = process.communicate(timeout=300)
    return time.monotonic() - sent, process.returncode, seen + rest


@pytest.mark.slow
def test_ctrl_c_stops_a_loop_while_the_model_generates():
    # was 120 s: Python joined the thread still generating before it exited
    took, code, output = interrupt_after(
        ["run", PROBLEM, "--graph", "self_refine", "--max-iters", "3"], "generation 0"
    )
    assert code == 130 and "interrupted" in output
    assert took < 10, took


@pytest.mark.slow
def test_ctrl_c_saves_an_eval_and_says_how_to_resume(tmp_path):
    run = tmp_path / "run"
    took, code, output = interrupt_after(
        ["eval", "--limit", "6", "--run-dir", str(run)], "eval: 0/6 tasks"
    )
    assert code == 130 and took < 10, (took, output)
    assert f"finish with: looplab eval --resume {run}" in output
    assert (run / "manifest.json").is_file()


@pytest.mark.slow
def test_ctrl_c_in_a_study_says_the_study_command_resumes_it(tmp_path):
    took, code, output = interrupt_after(
        ["study", "feedback", "--limit", "2", "--run-dir", str(tmp_path / "s")],
        "intrinsic: 0/2 tasks",
    )
    assert code == 130 and took < 10, (took, output)
    assert f"finish with: looplab study feedback --limit 2 --run-dir {tmp_path / 's'}" in output


# -- progress in a log ---------------------------------------------------------------------


def test_a_run_not_on_a_terminal_prints_a_progress_line_every_few_seconds():
    from io import StringIO

    from rich.console import Console

    from looplab.report import RunProgress

    log = StringIO()
    progress = RunProgress(Console(file=log, force_terminal=False), "feedback · x", every_s=0.2)
    progress.start(0, 20)
    progress.update(5, "accuracy so far 40%")
    time.sleep(0.7)
    progress.stop()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("feedback · x: 0/20 tasks · 0:00:00 elapsed")
    assert len(lines) >= 3
    assert re.match(
        r"feedback · x: 5/20 tasks · 0:00:0\d elapsed · about 0:00:\d\d left", lines[-1]
    )
    assert lines[-1].endswith("accuracy so far 40%")


# -- names a shell likes, and reports that say what they are --------------------------------


def test_an_old_study_folder_with_spaced_arm_names_still_opens(tmp_path, server):
    from looplab.studies import StudyOptions, run_study

    options = StudyOptions(model=server, limit=2, concurrency=2)
    root = tmp_path / "study"
    run_study("feedback", options, root)
    (root / "oracle").rename(root / "ORACLE (upper bound)")  # as 0.1 named it
    before = (root / "ORACLE (upper bound)" / "trajectories.jsonl").read_bytes()
    _, tables, _ = run_study("feedback", options, root)
    assert not (root / "oracle").exists()
    assert (root / "ORACLE (upper bound)" / "trajectories.jsonl").read_bytes() == before
    assert tables[0].rows[-1][0] == "ORACLE (upper bound)"


def test_an_unfinished_run_says_so_first_and_names_the_command_that_finishes_it(tmp_path, server):
    from looplab.report import report_header, write_report

    run = tmp_path / "run"
    run_eval(EvalConfig(model=server, graph="self_refine", limit=4, max_iters=1), run)
    lines = (run / "trajectories.jsonl").read_text().splitlines(keepends=True)
    (run / "trajectories.jsonl").write_text("".join(lines[:2]))  # killed after two tasks
    header = report_header(run)
    text = " ".join(header[0].lines)
    assert text.startswith("UNFINISHED: 2 of 4 results (2 of 4 tasks)")
    assert f"looplab eval --resume {run}" in text
    _, page = write_report(run)
    assert "UNFINISHED: 2 of 4 results" in page.read_text()
    done = cli("report", str(run))
    first = [line for line in done.stdout.splitlines() if line.strip()][1]
    assert first.startswith("UNFINISHED"), done.stdout[:500]


def test_a_study_arm_report_names_its_study_and_arm(tmp_path, server):
    from looplab.report import report_header
    from looplab.studies import StudyOptions, run_study

    root = tmp_path / "study"
    run_study("feedback", StudyOptions(model=server, limit=1), root)
    header = report_header(root / "calculator-checks")
    assert header[0].lines == ["study feedback · arm calculator checks"]


def test_report_html_lists_trajectories_in_task_order(tmp_path, server):
    from looplab.report import write_report

    run = tmp_path / "run"
    run_eval(EvalConfig(model=server, graph="self_refine", limit=6, max_iters=1), run)
    path = run / "trajectories.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(reversed(lines)))  # finished in another order
    _, page = write_report(run)
    html = page.read_text()
    blocks = re.findall(r'<script type="text/plain" class="block">([^<]+)</script>', html)
    records = [
        json.loads(record)
        for block in blocks
        for record in json.loads(gzip.decompress(base64.b64decode(block)))
    ]
    ids = [r["id"] for r in records]
    assert ids == [f"arith-d2s1-0-{i}" for i in range(6)]


def test_compare_says_how_many_tasks_each_side_had_and_how_many_it_paired(tmp_path, server):
    a, b = tmp_path / "a", tmp_path / "b"
    run_eval(EvalConfig(model=server, graph="self_refine", limit=4, max_iters=1), a)
    run_eval(EvalConfig(model=server, graph="self_refine", limit=3, max_iters=1), b)
    done = cli("compare", str(a), str(b))
    assert done.returncode == 0, done.stderr
    assert re.search(r"tasks in the run\s+│?\s*4\s+│?\s*3", done.stdout), done.stdout
    assert "paired 3 tasks of A's 4 and B's 3" in done.stdout


# -- usage never silently zero ----------------------------------------------------------------


def test_a_call_with_no_reported_usage_is_never_printed_as_zero_measured():
    from looplab.records import Usage
    from looplab.report import usage_line

    assert "MISSING for 1" in usage_line(Usage(calls=1, unreported_calls=1))
    estimated = usage_line(Usage(prompt_tokens=30, completion_tokens=9, calls=1, estimated_calls=1))
    assert estimated.startswith("30 prompt + 9 completion tokens") and "ESTIMATED" in estimated
    assert "ESTIMATED" not in usage_line(Usage(prompt_tokens=3, calls=1))


# -- help and errors from the registries ------------------------------------------------------


def words(text: str) -> set[str]:
    return {w.strip(",.;:()") for w in text.split()}


def test_help_and_errors_list_what_the_registries_hold(tmp_path):
    from looplab.graphs import GRAPH_CATALOG
    from looplab.llm import MODEL_SPEC_FORMS
    from looplab.perturb import FEEDBACK_FORMS
    from looplab.runs import EXECUTORS
    from looplab.studies import study_catalog
    from looplab.tasks import TASK_SETS
    from looplab.tools import BUILTIN_TOOLS

    help_text = words(cli("eval", "-h").stdout)
    for name in (
        *GRAPH_CATALOG,
        *MODEL_SPEC_FORMS.values(),
        *(s.form for s in TASK_SETS.values()),
        *BUILTIN_TOOLS,
        *FEEDBACK_FORMS.values(),
        *EXECUTORS,
    ):
        assert name in help_text, name
    assert "[ray]" not in cli("eval", "-h").stdout.replace("'.[ray]'", "")  # no bare extra
    study_help = words(cli("study", "-h").stdout)
    assert set(study_catalog()) <= study_help
    errors = {
        "graph": (cli("eval", "--graph", "nope", "--run-dir", str(tmp_path / "g")), GRAPH_CATALOG),
        "tasks": (
            cli("eval", "--tasks", "nope", "--run-dir", str(tmp_path / "t")),
            [s.form for s in TASK_SETS.values()],
        ),
        "study": (cli("study", "nope"), study_catalog()),
        "tool": (cli("eval", "--tools", "nope", "--run-dir", str(tmp_path / "o")), BUILTIN_TOOLS),
        "model": (
            cli("eval", "--model", "nope:x", "--run-dir", str(tmp_path / "m")),
            MODEL_SPEC_FORMS.values(),
        ),
        "feedback": (
            cli("eval", "--feedback", "nope", "--run-dir", str(tmp_path / "f")),
            FEEDBACK_FORMS.values(),
        ),
    }
    for kind, (done, registry) in errors.items():
        line = one_error_line(done.stderr)
        assert set(registry) <= words(line), (kind, line)
    listed = {
        "tasks": (cli("tasks", "list").stdout, [s.form for s in TASK_SETS.values()]),
        "graph": (cli("graph", "list").stdout, GRAPH_CATALOG),
        "study": (cli("study", "list").stdout, study_catalog()),
    }
    for kind, (text, registry) in listed.items():
        assert all(name in text for name in registry), kind


def test_dash_h_version_and_no_markup_in_terminal_text():
    from importlib.metadata import version

    for command in ([], ["eval"], ["tasks", "list"], ["graph"], ["sandbox", "run"]):
        done = cli(*command, "-h")
        assert done.returncode == 0 and "Usage:" in done.stdout, command
    done = cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"looplab {version('looplab')}"
    graphs = cli("graph", "list").stdout
    assert "``" not in graphs and ":class:" not in graphs
    # option values with brackets are text, not markup that swallows them
    assert "openai:MODEL[@BASE_URL]" in cli("eval", "-h").stdout
