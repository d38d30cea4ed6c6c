"""The CLI as a user runs it: a real subprocess, one-line errors, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.net import free_port


def looplab(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "looplab.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and fragment in lines[0], lines[0]


def test_bad_model_spec():
    assert_one_line_error(looplab("ask", "--model", "gpt4", "hi"), "unknown model spec")


def test_missing_gguf(tmp_path):
    assert_one_line_error(
        looplab("ask", "--model", f"gguf:{tmp_path}/nope.gguf", "hi"), "no GGUF file at"
    )


def test_not_a_gguf(tmp_path):
    bogus = tmp_path / "x.gguf"
    bogus.write_text("hello")
    assert_one_line_error(looplab("ask", "--model", f"gguf:{bogus}", "hi"), "not a GGUF model file")


def test_unreachable_base_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert_one_line_error(looplab("ask", "--model", f"openai:m@{url}", "hi"), "cannot reach")


def test_missing_replay_recording(tmp_path):
    assert_one_line_error(
        looplab("ask", "--model", f"replay:{tmp_path}/x", "hi"), "no recording at"
    )


@pytest.mark.slow
def test_ask_streams_a_completion_and_records_it(tmp_path):
    result = looplab("ask", "--max-tokens", "12", "--record", str(tmp_path), "What is 2+2?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "completion tokens" in result.stderr
    replayed = looplab("ask", "--max-tokens", "12", "--model", f"replay:{tmp_path}", "What is 2+2?")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == result.stdout


@pytest.mark.slow
def test_doctor_reports_the_embedded_model():
    result = looplab("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded weights" in result.stdout and "SmolLM2" in result.stdout
    assert "sandbox: docker" in result.stdout and "sandbox: bubblewrap" in result.stdout


def test_tool_prints_the_result():
    result = looplab("tool", "calc", "17*23")
    assert result.returncode == 0 and result.stdout == "391\n"


def test_tool_error_is_one_line_and_exit_1():
    result = looplab("tool", "calc", "__import__('os')")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == "calc error: unknown function '__import__'"


def test_browse_refuses_loopback_unless_allowed():
    url = f"http://127.0.0.1:{free_port()}/"
    refused = looplab("tool", "browse", url)
    assert refused.returncode == 1 and "loopback address" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    allowed = looplab("tool", "browse", "--allow", "127.0.0.1", url)
    assert allowed.returncode == 1 and "cannot connect" in allowed.stderr  # allowed, nobody there


def test_unknown_tool_is_a_one_line_error():
    assert_one_line_error(looplab("tool", "search", "cats"), "unknown tool 'search'")


def test_tools_lists_the_builtins():
    result = looplab("tools")
    assert result.returncode == 0
    assert "<calc>...</calc>" in result.stdout and "<browse>...</browse>" in result.stdout


def test_graph_list_and_show():
    listed = looplab("graph", "list")
    assert listed.returncode == 0
    for name in ("self_refine", "critic_loop", "tool_critic", "test_repair", "best_of_n"):
        assert name in listed.stdout
    shown = looplab("graph", "show", "critic_loop")
    assert shown.returncode == 0
    assert "graph TD;" in shown.stdout and "decide -.-> repair;" in shown.stdout


def test_unknown_graph_is_a_one_line_error():
    assert_one_line_error(looplab("run", "--graph", "nope", "hi"), "unknown graph 'nope'")


@pytest.mark.slow
def test_run_streams_the_loop_and_saves_the_trajectory(tmp_path):
    saved = tmp_path / "trajectory.json"
    result = looplab(
        "run",
        "--graph",
        "critic_loop",
        "--tools",
        "calc",
        "--max-iters",
        "2",
        "--save",
        str(saved),
        "What is 46 times 7?",
    )
    assert result.returncode == 0, result.stderr
    assert "generation 0" in result.stdout and "⚙ calc('46*7') → '322'" in result.stdout
    assert "verdict:" in result.stdout and "stop:" in result.stdout
    from looplab.records import Trajectory

    trajectory = Trajectory.model_validate_json(saved.read_text())
    assert trajectory.graph == "critic_loop" and trajectory.attempts[0].tool_calls


@pytest.mark.slow
def test_run_takes_a_user_graph_file():
    result = looplab(
        "run",
        "--graph",
        "examples/custom_graph.py:build",
        "--tools",
        "calc",
        "--max-iters",
        "1",
        "What is 37 times 8?",
    )
    assert result.returncode == 0, result.stderr
    assert "graph examples/custom_graph.py:build: 1 attempt(s)" in result.stdout
