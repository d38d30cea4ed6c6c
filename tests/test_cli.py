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
