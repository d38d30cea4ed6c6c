"""The sandbox protocol on the process backend, the python tool, and backend selection."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from looplab.errors import SandboxError
from looplab.sandbox import Limits, ProcessSandbox, available_backends, check_program, make_sandbox
from looplab.tools import PythonTool


@pytest.fixture(scope="module")
def process():
    return ProcessSandbox(Limits(timeout_s=3))


def test_process_backend_says_it_is_unisolated(process):
    result = process.run("print('hi')")
    assert result.ok and result.stdout == "hi\n"
    assert result.isolation == "none" and "UNISOLATED" in result.summary()


def test_process_backend_limits_and_statuses(process):
    assert process.run("while True: pass").timed_out
    assert process.run("x = bytearray(10**10)").oom_killed
    big = process.run("print('y' * 10**6)")
    assert big.output_truncated and len(big.stdout) == Limits().output_bytes
    assert process.run("import sys; sys.exit(7)").exit_code == 7


def test_process_backend_scrubs_the_environment(process, monkeypatch):
    monkeypatch.setenv("LOOPLAB_TEST_SECRET", "do-not-leak")
    result = process.run("import os; print(sorted(os.environ))")
    assert "LOOPLAB_TEST_SECRET" not in result.stdout and "HOME" in result.stdout


def test_process_backend_kills_what_the_program_left_running(process):
    import time

    result = process.run("import subprocess\nprint(subprocess.Popen(['sleep', '300']).pid)")
    pid = int(result.stdout)
    time.sleep(0.1)
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"  # gone, or a dead zombie


def test_file_names_must_stay_in_the_work_directory(process):
    for name in ("/etc/passwd", "../escape.txt", "a/../../b"):
        with pytest.raises(SandboxError, match="relative path inside the work dir"):
            process.run("print(1)", files={name: "x"})


def test_one_of_program_or_command(process):
    with pytest.raises(ValueError, match="exactly one"):
        process.run()


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(SandboxError, match="unknown sandbox backend 'vm'"):
        make_sandbox("vm")


def test_auto_picks_an_isolated_backend_or_says_how_to_get_one():
    reasons = available_backends()
    if all(reason is not None for reason in reasons.values()):
        with pytest.raises(SandboxError, match="no isolated sandbox here"):
            make_sandbox("auto")
        return
    sandbox = make_sandbox("auto")
    try:
        assert sandbox.isolation in ("docker", "bubblewrap")
    finally:
        sandbox.close()


def test_check_program_on_the_process_backend(process):
    test = "def check(f):\n    assert f(3) == 9\n"
    assert check_program(process, "def sq(x):\n    return x * x\n", test, "sq").passed
    failed = check_program(process, "def sq(x):\n    return x + x\n", test, "sq")
    assert not failed.passed and failed.detail.endswith("AssertionError")


def test_python_tool_shows_status_stdout_and_stderr(process):
    tool = PythonTool(process)
    result = tool.run("import sys\nprint(6 * 7)\nprint('careful', file=sys.stderr)\nsys.exit(2)")
    assert result.ok  # the tool worked; the program's failure is content for the model
    assert result.output == "exit 2 (unisolated)\n42\nstderr:\ncareful"


def test_python_tool_trims_to_budget_keeping_the_traceback_end(process):
    tool = PythonTool(process, budget=200)
    result = tool.run("print('a' * 5000)\nraise ValueError('the end')")
    assert "more characters cut]" in result.output
    assert result.output.endswith("ValueError: the end")


def test_python_tool_reports_a_timeout(process):
    tool = PythonTool(process, limits=Limits(timeout_s=0.5))
    assert tool.run("while True: pass").output.startswith("timed out after 0.5 s")


def test_python_tool_without_any_sandbox_is_an_error_result():
    tool = PythonTool(backend="vm")
    result = tool.run("print(1)")
    assert not result.ok and "no sandbox to run code in" in result.error


def test_the_graders_value_form_round_trips_plain_values_and_refuses_anything_else():
    from looplab.sandbox.harness_program import decode, encode

    values = [
        None, True, False, 0, -(10**5000), 2.5, float("inf"), -0.0, 1 - 2j, "é\ud800", b"\x00",
        [1, (2, 3)], {"a": {1, 2}, (1,): frozenset({"x"})}, ((),), [],
    ]  # fmt: skip
    for value in values:
        back = decode(encode(value))
        assert back == value and type(back) is type(value)
    assert math.isnan(decode(encode(float("nan"))))
    assert decode(encode([True, 1])) == [True, 1] and type(decode(encode(True))) is bool

    class Anything:
        def __eq__(self, other):
            return True

    with pytest.raises(TypeError):
        encode([Anything()])
    rng = random.Random(0)
    garbage = [b"", b"l5:N", b"s9:abc", b"i;", b"izz;", b"d1:N", b"S1:l0:", b"x", b"l1:" * 5000]
    garbage += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(500)]
    plain = (type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)
    for data in garbage:
        try:
            value = decode(data)
        except (ValueError, TypeError, RecursionError):
            continue
        assert isinstance(value, plain)
