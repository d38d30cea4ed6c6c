"""The abuse suite, for every isolated backend (Docker and bubblewrap).

Model-written code is hostile by assumption. Each case must be contained,
reported with the right status, leave the host and the next run unaffected,
and leave nothing running. Where an engine is missing these tests skip with
the reason; CI sets LOOPLAB_REQUIRE_SANDBOX=1, which turns a missing engine
into a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from looplab.errors import SandboxError
from looplab.sandbox import (
    RUN_UIDS,
    SPAWNER_SOURCE,
    BubblewrapSandbox,
    DockerSandbox,
    Limits,
    available_backends,
    check_program,
)
from tests.helpers.sandboxes import REQUIRED, isolated_backend
from tests.helpers.web_server import WebServer

REPO = Path(__file__).resolve().parent.parent
FAST = Limits(timeout_s=3.0, memory_mb=256, pids=64, output_bytes=64 * 1024)
SECRET = "looplab-planted-secret-8c1f"


@pytest.fixture(scope="module", params=["docker", "bubblewrap"])
def sandbox(request):
    box = isolated_backend(request.param, FAST)
    yield box
    box.close()


@pytest.fixture(autouse=True)
def _next_run_is_unaffected(request):
    """After every case, a plain program still runs normally in the same sandbox."""
    yield
    if "sandbox" in request.fixturenames:
        box = request.getfixturevalue("sandbox")
        result = box.run("print('still fine')")
        assert result.ok and result.stdout == "still fine\n", result


def _nobody_processes() -> list[str]:
    """Processes on the host owned by nobody or by a sandbox run's own uid (bubblewrap runs
    each sandbox as one, as root), but bubblewrap sandboxes' spawners, which start bwrap
    and run no model-written code."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                owner = os.stat(f"/proc/{name}").st_uid
                if owner == 65534 or owner in RUN_UIDS:
                    command = Path(f"/proc/{name}/cmdline").read_bytes().decode(errors="replace")
                    if SPAWNER_SOURCE not in command:
                        found.append(command)
            except OSError:
                pass
    return found


def _assert_nothing_left(sandbox) -> None:
    if isinstance(sandbox, BubblewrapSandbox):
        deadline = time.monotonic() + 3
        while _nobody_processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _nobody_processes() == []
    else:
        # in a container: only PID 1 (the supervisor) and the program itself
        listing = "import os; print(len([p for p in os.listdir('/proc') if p.isdigit()]))"
        assert sandbox.run(listing).stdout.strip() == "2"


# -- the abuse cases -------------------------------------------------------------------


def test_fork_bomb(sandbox):
    result = sandbox.run("import os\nwhile True:\n    os.fork()")
    assert not result.ok
    assert result.duration_s < FAST.timeout_s + 1
    _assert_nothing_left(sandbox)


def test_memory_bomb(sandbox):
    result = sandbox.run("chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))")
    assert result.oom_killed and not result.ok
    assert not result.timed_out


def test_infinite_loop(sandbox):
    result = sandbox.run("while True:\n    pass")
    assert result.timed_out and result.exit_code == 137
    assert FAST.timeout_s <= result.duration_s < FAST.timeout_s + 2


def test_cpu_spin_in_many_threads(sandbox):
    program = (
        "import threading\n"
        "def spin():\n    while True: pass\n"
        "for _ in range(8):\n    threading.Thread(target=spin, daemon=True).start()\n"
        "spin()\n"
    )
    result = sandbox.run(program)
    assert not result.ok and (result.timed_out or result.exit_code in (137, 152))
    _assert_nothing_left(sandbox)


def test_hundred_megabytes_of_output(sandbox):
    result = sandbox.run("import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 2**20)")
    assert result.output_truncated
    assert len(result.stdout) == FAST.output_bytes


def test_flooding_stderr(sandbox):
    result = sandbox.run("import sys\nwhile True:\n    sys.stderr.write('e' * 65536)")
    assert result.output_truncated and result.timed_out
    assert len(result.stderr) == FAST.output_bytes


def test_closing_stdout_and_stderr(sandbox):
    result = sandbox.run("import os\nos.close(1)\nos.close(2)\nimport time\ntime.sleep(0.2)\n")
    assert result.exit_code in (0, 120) and not result.timed_out
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize("target", ["/etc/looplab-pwned", "/usr/looplab-pwned", "/looplab-pwned"])
def test_writing_outside_the_work_directory(sandbox, target):
    result = sandbox.run(f"open({target!r}, 'w').write('x')")
    assert result.exit_code != 0
    assert "Read-only file system" in result.stderr or "Permission denied" in result.stderr
    assert not Path(target).exists()


def test_reading_host_files(sandbox):
    program = f"""
import os
for path in ["/etc/shadow", {str(REPO / "pyproject.toml")!r}, {str(Path.home())!r}]:
    try:
        print(path, "READ", open(path).read()[:50])
    except (IsADirectoryError,):
        print(path, "LISTED", os.listdir(path))
    except OSError as exc:
        print(path, "refused", type(exc).__name__)
"""
    result = sandbox.run(program)
    assert "READ" not in result.stdout and "LISTED" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == 3


def test_parent_environment_is_not_visible(sandbox, monkeypatch):
    monkeypatch.setenv("LOOPLAB_TEST_SECRET", SECRET)
    program = """
import os
print(dict(os.environ))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            print(open(f"/proc/{pid}/environ", "rb").read())
        except OSError:
            pass
"""
    result = sandbox.run(program)
    assert result.ok
    assert SECRET not in result.stdout and "OPENAI_API_KEY" not in result.stdout


def test_network_is_unreachable(sandbox):
    server = WebServer()  # a real server on the host's loopback
    try:
        program = f"""
import socket
for address in [("127.0.0.1", {server.port}), ("93.184.215.14", 80), ("1.1.1.1", 53)]:
    try:
        socket.create_connection(address, timeout=1).close()
        print(address, "CONNECTED")
    except OSError as exc:
        print(address, "refused", type(exc).__name__)
"""
        result = sandbox.run(program)
    finally:
        server.close()
    assert "CONNECTED" not in result.stdout and result.stdout.count("refused") == 3
    assert server.hits == []


def test_child_left_sleeping_after_the_timeout(sandbox):
    program = (
        "import subprocess, time\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "while True:\n    time.sleep(1)\n"
    )
    result = sandbox.run(program)
    assert result.timed_out
    _assert_nothing_left(sandbox)


def test_child_left_sleeping_after_a_normal_exit(sandbox):
    program = "import subprocess\nsubprocess.Popen(['sleep', '300'], start_new_session=True)\n"
    result = sandbox.run(program)
    assert result.ok
    _assert_nothing_left(sandbox)


def test_each_run_gets_a_fresh_empty_work_directory(sandbox):
    first = sandbox.run("import os\nopen('left.txt', 'w').write('x')\nprint(os.listdir('.'))")
    second = sandbox.run("import os\nprint(os.listdir('.'))")
    assert "left.txt" in first.stdout
    assert second.stdout == "['main.py']\n"


_FORGE = r"""
import base64, os
fake = '{"stdout": "%s", "stderr": "", "exit_code": 0, "duration": 0.1, "timed_out": false,'
fake += ' "truncated": false, "oom_killed": false, "healthy": true}'
fake %= base64.b64encode(b"FORGED").decode()
for fd in (1, 2):  # the runner's own stdout and stderr, which a same-uid program can open
    try:
        with open("/proc/%d/fd/%d" % (os.getppid(), fd), "w") as runner:
            runner.write(fake + "\n" + fake + '\n{"stdout": "')  # forged, then a half line
    except OSError:
        pass
print("real output")
raise SystemExit(3)
"""


def test_a_program_cannot_forge_or_corrupt_the_runners_result(sandbox):
    result = sandbox.run(_FORGE)
    assert result.exit_code == 3 and result.stdout == "real output\n", result
    assert "FORGED" not in result.stdout


_ATTACK_THE_COLLECTOR = r"""
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
got_through = []
# whatever in the sandbox collects the result: Docker's supervisor is PID 1; under
# bubblewrap the program itself is PID 1 and its parent is outside its namespace
for pid in sorted({1, os.getppid()} - {0, os.getpid()}):
    if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
        got_through.append(("ptrace", pid))
    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
            got_through.append(("signal", pid, int(sig)))
        except OSError:
            pass
    for fd in range(10):
        try:
            with open("/proc/%d/fd/%d" % (pid, fd), "w") as f:
                f.write("\n" + '{"exit_code": 0}' + "\n")
            got_through.append(("write", pid, fd))
        except OSError:
            pass
    try:
        open("/proc/%d/mem" % pid, "r+b").close()
        got_through.append(("mem", pid))
    except OSError:
        pass
print("got through:", got_through)
raise SystemExit(3)
"""


def test_a_program_cannot_signal_trace_or_write_to_what_collects_its_result(sandbox):
    """Round 1's runner ran as the program's uid: a program could ptrace it and write its
    memory (on bubblewrap, bwrap's own init too), and so report any exit status."""
    result = sandbox.run(_ATTACK_THE_COLLECTOR)
    assert result.exit_code == 3 and result.stdout == "got through: []\n", result


_WRITABLE_ELSEWHERE = ["/tmp", "/dev/shm", "/work"]


def test_nothing_a_run_leaves_outside_its_work_directory_reaches_the_next(sandbox):
    """A reused container keeps its writable mounts: what one program leaves there (a
    planted module, a cached answer) must be gone before the next program runs."""
    plant = f"""
import os
for top in {_WRITABLE_ELSEWHERE!r}:
    try:
        os.makedirs(top + "/planted/deep", exist_ok=True)
        open(top + "/planted/deep/answer.txt", "w").write("42")
        open(top + "/planted.py", "w").write("print('poisoned')")
        print(top, "written")
    except OSError as exc:
        print(top, "refused", exc.errno)
"""
    look = f"""
import os
for top in {_WRITABLE_ELSEWHERE!r}:
    try:
        print(top, sorted(n for n in os.listdir(top) if n.startswith("planted")))
    except OSError as exc:
        print(top, "unreadable", exc.errno)
"""
    planted = sandbox.run(plant)
    assert planted.ok and "written" in planted.stdout, planted
    seen = sandbox.run(look)
    assert seen.ok and "planted" not in seen.stdout, seen.stdout


_ENVIRONMENT = (  # the work directory differs from run to run: it is not the environment
    "import os\n"
    "print(sorted((k, v.replace(os.getcwd(), 'WORKDIR')) for k, v in os.environ.items()))"
)


def test_a_run_that_changes_its_environment_and_leaves_a_thread_changes_nothing_next(sandbox):
    baseline = sandbox.run(_ENVIRONMENT)
    tamper = (
        "import os, threading, time\n"
        "os.environ['PYTHONPATH'] = '/tmp'\n"
        "os.putenv('PYTHONSTARTUP', '/tmp/x.py')\n"
        "for path in (os.path.expanduser('~/.bashrc'), '/etc/environment'):\n"
        "    try:\n"
        "        open(path, 'a').write('export PYTHONPATH=/tmp\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "def linger():\n"
        "    while True:\n"
        "        open('/tmp/still-here', 'w').close(); time.sleep(0.01)\n"
        "threading.Thread(target=linger).start()\n"
        "os.fork() or linger()\n"
    )
    sandbox.run(tamper)
    after = sandbox.run(_ENVIRONMENT)
    assert after.ok and after.stdout == baseline.stdout
    assert sandbox.run("import os\nprint(os.path.exists('/tmp/still-here'))").stdout == "False\n"
    _assert_nothing_left(sandbox)


def test_exhausting_inodes_is_a_result_and_the_next_run_is_clean(sandbox):
    program = (
        "n = 0\n"
        "try:\n"
        "    while True:\n"
        "        open(f'/tmp/i{n}', 'w').close(); n += 1\n"
        "except OSError as exc:\n"
        "    print('stopped after', n, exc.errno)\n"
    )
    result = sandbox.run(program)  # a result, never a SandboxError
    assert result.ok or result.timed_out, result
    after = sandbox.run("import os\nprint(len(os.listdir('/tmp')))")
    assert after.ok and after.stdout == "0\n", after


def test_filling_the_disk_is_a_result_and_the_next_run_has_room(sandbox):
    fill = (
        "import os\n"
        "for top in ('.', '/tmp'):\n"
        "    try:\n"
        "        for n in range(10**6):\n"
        "            open(f'{top}/fill{n}', 'wb').write(b'x' * 2**20)\n"
        "    except OSError as exc:\n"
        "        print(top, 'full', exc.errno)\n"
    )
    result = sandbox.run(fill)
    assert result.ok and result.stdout.count("full 2") == 2, result  # ENOSPC or EFBIG
    room = sandbox.run("open('/tmp/x', 'wb').write(b'x' * 2**20)\nprint('room')")
    assert room.ok and room.stdout == "room\n", room


@pytest.mark.parametrize(
    "name", ["../x", "/etc/x", "sub/../../x", "a\x00b", ".", "./", "sub/..", ""]
)
def test_file_names_that_escape_or_name_nothing_are_refused_up_front(sandbox, name):
    with pytest.raises(SandboxError, match="must be a relative path inside the work dir"):
        sandbox.run("print(1)", files={name: "x"})


# -- the normal cases ------------------------------------------------------------------


def test_stdin_files_unicode_and_exit_codes(sandbox):
    result = sandbox.run(
        "import sys\n"
        "data = open('data/in.txt').read()\n"
        "print(sys.stdin.read().upper(), data, 'π ≈ 3.14159 ✓')\n"
        "sys.exit(3)\n",
        files={"data/in.txt": "from a file"},
        stdin="from stdin",
    )
    assert result.exit_code == 3 and not result.ok
    assert result.stdout == "FROM STDIN from a file π ≈ 3.14159 ✓\n"
    assert result.isolation == ("docker" if isinstance(sandbox, DockerSandbox) else "bubblewrap")


def test_a_command_instead_of_a_program(sandbox):
    result = sandbox.run(
        command=["sh", "-c", "cat input.txt; echo done >&2"], files={"input.txt": "hello"}
    )
    assert result.ok and result.stdout == "hello" and result.stderr == "done\n"


HUMANEVAL_TEST = """
def check(candidate):
    assert candidate(2, 3) == 5
    assert candidate(-1, 1) == 0
"""


def test_humaneval_style_check_passes_and_fails(sandbox):
    good = check_program(sandbox, "def add(a, b):\n    return a + b\n", HUMANEVAL_TEST, "add")
    assert good.passed and good.detail == ""
    bad = check_program(sandbox, "def add(a, b):\n    return a - b\n", HUMANEVAL_TEST, "add")
    assert not bad.passed and "AssertionError" in bad.detail
    broken = check_program(sandbox, "def add(a, b) return", HUMANEVAL_TEST, "add")
    assert not broken.passed and "SyntaxError" in broken.detail


def test_exiting_early_does_not_pass_a_check(sandbox):
    cheat = "import sys\nsys.exit(0)\ndef add(a, b):\n    return 0\n"
    result = check_program(sandbox, cheat, HUMANEVAL_TEST, "add")
    assert not result.passed and "SystemExit" in result.detail


HIDDEN_SECRET = "hidden-test-secret-5e1d"
HIDDEN_TEST = f"""
SECRET = {HIDDEN_SECRET!r}
def check(candidate):
    assert candidate(2, 3) == 5
    assert len(candidate([1], [2])) == 2
"""

_FIND_THE_MARKER = r"""
import os, re, sys
def search(text):
    # spelled in two parts, so that this program's own source does not match
    found = re.search("LOOPLAB-" + "PASSED-[0-9a-f]+|hidden-test-" + "secret", text)
    return found.group(0) if found else None
places = [__file__, "main.py", "/dev/stdin"] + [
    "/proc/%s/%s" % (pid, part)
    for pid in os.listdir("/proc") if pid.isdigit()
    for part in ("cmdline", "environ", "fd/0", "fd/3", "fd/4")
]
for place in places:
    try:
        with open(place, errors="replace") as f:
            found = search(f.read(1 << 20))
    except OSError:
        continue
    if found and found.startswith("LOOPLAB"):
        print(found); sys.stdout.flush(); os._exit(0)
    if found:
        sys.stderr.write("FOUND THE HIDDEN TESTS in %s\n" % place)
"""

CHEATS = {
    "an object equal to everything": (
        "class Anything:\n    def __eq__(self, other): return True\n"
        "    def __len__(self): return 2\n"
        "def add(a, b):\n    return Anything()\n"
    ),
    "a str subclass equal to everything": (
        "class S(str):\n    def __eq__(self, other): return True\n"
        "    __hash__ = str.__hash__\n"
        "def add(a, b):\n    return S('x')\n"
    ),
    "the marker read from its own source, the harness's or /proc": (
        _FIND_THE_MARKER + "def add(a, b):\n    return 0\n"
    ),
    "an atexit hook that prints a marker and exits 0": (
        "import atexit, os\n"
        "atexit.register(lambda: (print('LOOPLAB-PASSED-' + '0' * 32), os._exit(0)))\n"
        "def add(a, b):\n    return 0\n"
    ),
    "an excepthook that exits 0": (
        "import os, sys\nsys.excepthook = lambda *a: os._exit(0)\ndef add(a, b):\n    return 0\n"
    ),
    "patched builtins": (
        "import builtins\nbuiltins.len = lambda x: 2\nbuiltins.AssertionError = type(None)\n"
        "def add(a, b):\n    return 0\n"
    ),
    "killing, stopping or tracing the harness": (
        "import ctypes, os, signal\n"
        "ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0)\n"
        "for sig in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM):\n"
        "    try:\n        os.kill(os.getppid(), sig)\n    except OSError:\n        pass\n"
        "def add(a, b):\n    return 0\n"
    ),
}


@pytest.mark.parametrize("cheat", list(CHEATS))
def test_no_cheat_passes_a_check_or_sees_the_hidden_tests(sandbox, cheat):
    """Round 1 ran the tests in the program's own process: an object equal to
    everything, or the marker read from the script, passed tests the program failed."""
    result = check_program(sandbox, CHEATS[cheat], HIDDEN_TEST, "add", limits=FAST)
    assert not result.passed, result
    assert "FOUND THE HIDDEN TESTS" not in result.result.stderr


def test_the_tests_call_the_program_with_plain_values_both_ways(sandbox):
    program = (
        "import math\n"
        "def f(x, *, scale=1.0):\n"
        "    return [x, (x,), {x: {x}}, frozenset([x]), math.inf * scale, b'b', None, 1j]\n"
    )
    test = (
        "import math\n"
        "def check(candidate):\n"
        "    got = candidate(3, scale=-1.0)\n"
        "    assert got == [3, (3,), {3: {3}}, frozenset([3]), -math.inf, b'b', None, 1j]\n"
        "    assert type(got[1]) is tuple and type(got[3]) is frozenset\n"
        "    assert candidate('a')[0] == 'a'\n"
        "    try:\n        candidate([])\n    except TypeError:\n        pass\n"
        "    else:\n        raise AssertionError('a list is not hashable')\n"
    )
    result = check_program(sandbox, program, test, "f")
    assert result.passed, result.detail


def test_a_slow_check_times_out(sandbox):
    slow = "def add(a, b):\n    while True: pass\n"
    result = check_program(sandbox, slow, HUMANEVAL_TEST, "add", limits=Limits(timeout_s=1))
    assert not result.passed and result.detail == "timed out"


def test_cli_runs_code_in_the_sandbox():
    backend = next((n for n, r in available_backends().items() if r is None), None)
    if backend is None:
        if REQUIRED:
            pytest.fail("LOOPLAB_REQUIRE_SANDBOX=1 but no isolated backend is usable")
        pytest.skip(reason="no isolated sandbox backend here")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "looplab.cli",
            "sandbox",
            "run",
            "--backend",
            backend,
            "-c",
            "print(6*7)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "42" in done.stdout and f"{backend}: exit 0" in done.stdout


def test_docker_containers_of_a_killed_process_are_reaped():
    """A process holding a warm pool is killed with SIGKILL; the next sandbox removes its
    containers (they carry the owner's pid and start time in a label)."""
    reason = available_backends()["docker"]
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"LOOPLAB_REQUIRE_SANDBOX=1 but docker is unusable: {reason}")
        pytest.skip(reason=f"docker is unusable here: {reason}")
    import docker

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom looplab.sandbox import DockerSandbox\n"
            "box = DockerSandbox(pool_size=2)\nbox.run('print(1)')\n"
            "print('ready', flush=True)\ntime.sleep(300)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "ready"
    client = docker.from_env()

    def owned_by(pid: int) -> list:
        found = client.containers.list(all=True, filters={"label": "looplab.sandbox"})
        return [c for c in found if f":{pid}:" in c.labels.get("looplab.owner", "")]

    assert owned_by(holder.pid), "the holder should own warm containers"
    holder.kill()
    holder.wait()
    assert owned_by(holder.pid)  # killed: nothing cleaned up yet
    DockerSandbox(FAST).close()  # a new sandbox reaps orphans when it starts
    assert owned_by(holder.pid) == []
