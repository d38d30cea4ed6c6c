"""Round 3 of attacking the sandbox, on both isolated backends: a grade that cannot be
forged by shadowing the grader's modules, kernel objects that do not outlive a run,
per-run process budgets, output floods from many processes.

Where an engine is missing these tests skip with the reason; CI sets
LOOPLAB_REQUIRE_SANDBOX=1, which turns a missing engine into a failure.
"""

from __future__ import annotations

import threading
import time

import pytest

from looplab.sandbox import Limits, check_program
from tests.helpers.sandboxes import isolated_backend

LIMITS = Limits(timeout_s=5.0, memory_mb=256, pids=64, output_bytes=64 * 1024)
RIGHT = "def add_one(x):\n    return x + 1\n"
TEST = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 6\n"


@pytest.fixture(scope="module", params=["docker", "bubblewrap"])
def sandbox(request):
    box = isolated_backend(request.param, LIMITS)
    yield box
    box.close()


# A module that, imported anywhere in the harness, finds the nonce on the stack and
# prints the pass marker: what a program that plants it must never achieve.
FORGER = """
import os, sys
frame = sys._getframe()
while frame is not None:
    job = frame.f_locals.get("job")
    if isinstance(job, dict) and "nonce" in job:
        sys.stdout.write("LOOPLAB-PASSED-" + job["nonce"] + "\\n")
        sys.stdout.flush()
        os._exit(0)
    frame = frame.f_back
"""

# every module the harness, its context or a failing test's report may import
SHADOWED = (
    "linecache", "traceback", "typing", "collections", "functools", "re", "math",
    "itertools", "string", "hashlib", "heapq", "bisect", "random", "json", "encodings",
    "ctypes", "signal", "_signal", "marshal", "warnings", "abc", "enum", "textwrap",
    "sitecustomize", "usercustomize", "solution_helper",
)  # fmt: skip


def _planting(extra: str = "") -> str:
    return (
        "import os\n"
        f"FORGER = {FORGER!r}\n"
        f"for name in {SHADOWED!r}:\n"
        "    for folder in ('.', os.path.dirname(os.path.abspath(__file__))):\n"
        "        try:\n"
        "            with open(os.path.join(folder, name + '.py'), 'w') as f:\n"
        "                f.write(FORGER)\n"
        "        except OSError:\n"
        "            pass\n"
        "def add_one(x):\n"
        "    return x  # wrong: the check must fail\n" + extra
    )


def test_a_program_that_shadows_the_graders_modules_fails(sandbox):
    verdict = check_program(sandbox, _planting(), TEST, "add_one")
    assert not verdict.passed, verdict
    assert "LOOPLAB-PASSED" not in verdict.result.stdout


def test_a_prompt_that_imports_a_planted_module_does_not_run_it(sandbox):
    context = "import solution_helper\nfrom typing import List\n"
    verdict = check_program(sandbox, _planting(), TEST, "add_one", context=context)
    assert not verdict.passed and "LOOPLAB-PASSED" not in verdict.result.stdout
    assert "solution_helper" in verdict.detail  # ModuleNotFoundError: not the planted one


def test_a_program_that_rewrites_the_harness_and_test_files_fails(sandbox):
    rewrite = (
        "for name in ('harness.py', 'main.py', 'test.py', 'context.py', 'solution.py'):\n"
        "    try:\n"
        "        open(name, 'w').write('print(\"LOOPLAB-PASSED-x\")')\n"
        "    except OSError:\n"
        "        pass\n"
    )
    verdict = check_program(sandbox, _planting(rewrite), TEST, "add_one")
    assert not verdict.passed


def test_a_right_program_still_passes_beside_the_planted_modules(sandbox):
    program = _planting().replace("return x  # wrong: the check must fail", "return x + 1")
    assert check_program(sandbox, program, TEST, "add_one").passed


MAKE_IPC = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
made = {
    "shm": [libc.shmget(0, 16 << 20, IPC_CREAT | 0o666) for _ in range(3)],
    "msg": libc.msgget(0, IPC_CREAT | 0o666),
    "sem": libc.semget(0, 4, IPC_CREAT | 0o666),
}
try:
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    rt.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    made["mq"] = rt.mq_open(b"/looplab-left", os.O_CREAT | os.O_RDWR, 0o666, None)
except OSError:
    pass
print(made)
"""

SEE_IPC = r"""
import os
left = []
for kind in ("shm", "msg", "sem"):
    with open("/proc/sysvipc/" + kind) as f:
        left += [kind + ":" + line for line in f.read().splitlines()[1:]]
try:
    left += ["mq:" + n for n in os.listdir("/dev/mqueue")]
except OSError:
    pass
print(left)
"""


def test_ipc_objects_do_not_outlive_a_run(sandbox):
    made = sandbox.run(MAKE_IPC)
    assert made.ok, made
    assert "-1" not in made.stdout.split("'shm': ")[1].split("]")[0], made.stdout  # made
    seen = sandbox.run(SEE_IPC)
    assert seen.ok and seen.stdout.strip() == "[]", seen
    # and their memory is not charged to the next run: a correct solution passes
    assert check_program(sandbox, RIGHT, TEST, "add_one").passed


LEAVE_KERNEL_OBJECTS = r"""
import os, select, signal, socket, time
if os.fork() == 0:
    os.setsid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0looplab-left-behind")
    server.listen()
    timer = signal.setitimer(signal.ITIMER_REAL, 100)
    poller = select.epoll()
    time.sleep(60)
    os._exit(0)
time.sleep(0.3)
print("left")
"""

FIND_KERNEL_OBJECTS = r"""
import socket
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    client.connect("\0looplab-left-behind")
    print("FOUND")
except OSError as exc:
    print("gone", type(exc).__name__)
"""


def test_sockets_timers_and_pollers_do_not_outlive_a_run(sandbox):
    assert sandbox.run(LEAVE_KERNEL_OBJECTS).stdout.strip() == "left"
    found = sandbox.run(FIND_KERNEL_OBJECTS)
    assert found.ok and found.stdout.startswith("gone"), found


def test_cgroup_and_system_files_are_not_writable(sandbox):
    probe = sandbox.run(
        "import glob\n"
        "written = []\n"
        "for path in glob.glob('/sys/fs/cgroup/**', recursive=True)[:200] + ['/etc/passwd',"
        " '/proc/sys/kernel/hostname']:\n"
        "    try:\n"
        "        open(path, 'w').write('1')\n"
        "        written.append(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "print(written)\n"
    )
    assert probe.ok and probe.stdout.strip() == "[]", probe


FORK_AND_HOLD = r"""
import os, time
held = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(4)
            os._exit(0)
        held += 1
    except OSError:
        break
print(held)
time.sleep(4)
"""


def test_a_fork_heavy_run_does_not_starve_a_concurrent_sandbox():
    """Each bubblewrap run has its own process budget: a program forking to its limit
    in one sandbox leaves a concurrent, separate sandbox's grading untouched."""
    hog = isolated_backend("bubblewrap", LIMITS)
    grader = isolated_backend("bubblewrap", LIMITS)
    try:
        thread = threading.Thread(target=hog.run, args=(FORK_AND_HOLD,))
        thread.start()
        try:
            time.sleep(1.0)  # the hog holds its processes now
            verdicts = [check_program(grader, RIGHT, TEST, "add_one") for _ in range(3)]
        finally:
            thread.join()
        assert all(v.passed for v in verdicts), [v.detail for v in verdicts]
    finally:
        hog.close()
        grader.close()


FLOOD = r"""
import os, sys
for _ in range(4):
    if os.fork() == 0:
        block = b"x" * 65536
        for _ in range(80):
            try:
                os.write(1, block)
                os.write(2, block)
            except OSError:
                break
        os._exit(0)
for _ in range(4):
    os.wait()
print("done")
"""


def test_several_processes_flooding_both_outputs_are_capped(sandbox):
    flood = sandbox.run(FLOOD)
    assert flood.output_truncated, flood.exit_code
    assert len(flood.stdout.encode()) <= LIMITS.output_bytes
    assert len(flood.stderr.encode()) <= LIMITS.output_bytes
    assert sandbox.run("print('next')").stdout == "next\n"
