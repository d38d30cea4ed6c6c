"""The grading harness: runs a task's tests in one process and the program under test
in another, so that nothing the program does can make the tests pass.

Run in the sandbox as ``python3 -I harness.py`` (isolated: the work directory, which
the program can write, is not on sys.path), with the program to
grade in ``solution.py`` and, on stdin, what only the harness may see: the
tests, the task's trusted context (HumanEval's prompt: its imports and
helpers such as ``poly``), the entry point and a nonce. In order:

1. It makes itself non-dumpable, so a process of the same uid can neither
   ptrace it nor open its ``/proc/PID/mem`` or ``/proc/PID/fd``, and ignores
   the signals it can.
2. It forks the program's process *before* reading stdin, so the tests are
   never in that process's memory; that process closes stdin, sends its
   stdout to stderr (the verdict's stdout is the harness's alone), loads
   ``solution.py`` as ``__main__`` and serves calls of the entry point.
3. The harness reads stdin, runs the context and the tests, and calls
   ``check(candidate)`` with a proxy: arguments go to the program's process
   and results come back as plain values only (None, bool, int, float,
   complex, str, bytes, list, tuple, dict, set, frozenset), in a tagged form
   parsed here by hand, never evaluated. An object whose ``__eq__`` says
   yes to everything cannot cross; nor can a patched builtin, an ``atexit``
   hook or a ``sys.excepthook``, since the program's process is not where the
   tests run.
4. Only when ``check`` returns does it print ``LOOPLAB-PASSED-<nonce>``.

An exception the program raises is raised to the tests as the same built-in
type when it is one (a test may expect ``ValueError``), else as
``RuntimeError``. Arguments are passed by value: a program that mutates
its arguments in place does not mutate the tests' copies.

This file imports only the standard library: it runs inside the sandbox's
image, not in looplab's environment.
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys

try:  # the C module: the signal module's import builds enums, ~2.5 ms of a check
    import _signal as signal
except ImportError:  # pragma: no cover - an interpreter without it
    import signal  # type: ignore[no-redef]

PR_SET_DUMPABLE = 4
PROGRAM_FILE = "solution.py"
MAX_MESSAGE = 64 * 1024 * 1024
"""The largest value either side may send: a bigger one fails the check."""


# -- values that cross between the processes -------------------------------------------
# A small tagged binary form, parsed here by hand: nothing the program sends is ever
# evaluated, and it needs no import (ast and json would cost more than the check).
_ATOMS = {None: b"N", True: b"T", False: b"F"}
_CONTAINERS = {list: b"l", tuple: b"t", set: b"S", frozenset: b"R", dict: b"d"}


def encode(value: object) -> bytes:
    """``value`` in the tagged form. Subclasses of the plain types travel as their base
    type; anything else raises TypeError."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(value: object, out: bytearray) -> None:
    if value is None or isinstance(value, bool):
        out += _ATOMS[value]  # type: ignore[index]
    elif isinstance(value, int):
        out += b"i%x;" % value  # hex: no digit limit, unlike str(int)
    elif isinstance(value, float):
        out += b"f" + float(value).hex().encode() + b";"
    elif isinstance(value, complex):
        out += b"z" + value.real.hex().encode() + b";" + value.imag.hex().encode() + b";"
    elif isinstance(value, str | bytes | bytearray):
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
        out += (b"s" if isinstance(value, str) else b"b") + b"%d:" % len(data) + data
    elif isinstance(value, dict):
        out += b"d%d:" % len(value)
        for key, item in value.items():
            _encode(key, out)
            _encode(item, out)
    elif isinstance(value, list | tuple | set | frozenset):
        kind = next(k for k in (list, tuple, frozenset, set) if isinstance(value, k))
        out += _CONTAINERS[kind] + b"%d:" % len(value)
        for item in value:
            _encode(item, out)
    else:
        item = getattr(value, "item", None)  # numpy scalars
        plain = item() if callable(item) else None
        if type(plain) not in (bool, int, float, complex, str, bytes):
            raise TypeError(
                f"a {type(value).__name__}: only plain values pass between tests and program"
            )
        _encode(plain, out)


def decode(data: bytes) -> object:
    """The plain value ``data`` stands for; ValueError if it is not what ``encode`` makes."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after the value")
    return value


def _until(data: bytes, at: int, stop: bytes) -> tuple[bytes, int]:
    end = data.find(stop, at)
    if end < 0 or end - at > 1 << 20:
        raise ValueError("malformed value")
    return data[at:end], end + 1


def _decode(data: bytes, at: int) -> tuple[object, int]:
    tag = data[at : at + 1]
    at += 1
    for atom, atom_tag in _ATOMS.items():
        if tag == atom_tag:
            return atom, at
    if tag == b"i":
        text, at = _until(data, at, b";")
        return int(text, 16), at
    if tag == b"f":
        text, at = _until(data, at, b";")
        return float.fromhex(text.decode("ascii")), at
    if tag == b"z":
        real, at = _until(data, at, b";")
        imag, at = _until(data, at, b";")
        return complex(float.fromhex(real.decode("ascii")), float.fromhex(imag.decode("ascii"))), at
    size_text, at = _until(data, at, b":")
    if not size_text.isdigit():
        raise ValueError("malformed size")
    size = int(size_text)
    if tag in (b"s", b"b"):
        if at + size > len(data):
            raise ValueError("truncated value")
        chunk = data[at : at + size]
        return (chunk.decode("utf-8", "surrogatepass") if tag == b"s" else chunk), at + size
    kind = next((k for k, k_tag in _CONTAINERS.items() if k_tag == tag), None)
    if kind is None or size > len(data):
        raise ValueError(f"malformed value (tag {tag!r})")
    items = []
    for _ in range(2 * size if kind is dict else size):
        item, at = _decode(data, at)
        items.append(item)
    if kind is dict:
        return dict(zip(items[::2], items[1::2], strict=True)), at
    return kind(items), at


def send(fd: int, message: object) -> None:
    send_bytes(fd, encode(message))


def send_bytes(fd: int, data: bytes) -> None:
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"a value of {len(data)} bytes is too big to pass")
    data = len(data).to_bytes(8, "big") + data
    while data:
        data = data[os.write(fd, data) :]


def receive(fd: int) -> object:
    size = int.from_bytes(_read_exactly(fd, 8), "big")
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes is too big")
    return decode(_read_exactly(fd, size))


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the program's process ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- the program's process ---------------------------------------------------------------
def serve(requests: int, answers: int) -> None:
    """Load the program, then call its entry point for each request (never returns)."""
    os.close(0)  # stdin carries the tests: never the program's
    os.dup2(2, 1)  # the program's prints go to stderr; stdout is the verdict's alone
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    _, entry_point = receive(requests)
    namespace: dict = {"__name__": "__main__", "__file__": PROGRAM_FILE, "__builtins__": builtins}
    try:
        with open(PROGRAM_FILE, encoding="utf-8") as source:
            code = compile(source.read(), PROGRAM_FILE, "exec")
        exec(code, namespace)
    except BaseException as exc:
        send(answers, _failure(exc))
        os._exit(0)
    function = namespace.get(entry_point)
    if not callable(function):
        send(answers, ("error", "NameError", f"the program defines no {entry_point}()", ""))
        os._exit(0)
    send(answers, ("ok", None))
    while True:
        _, args, kwargs = receive(requests)
        try:
            value = function(*args, **kwargs)
        except BaseException as exc:
            send(answers, _failure(exc))
            continue
        try:
            answer = encode(("ok", value))
        except (TypeError, RecursionError) as exc:
            answer = encode(("error", "TypeError", f"{entry_point} returned {exc}", ""))
        send_bytes(answers, answer)


def _failure(exc: BaseException) -> tuple:
    return ("error", type(exc).__name__, str(exc)[:2000], _report(exc)[-4000:])


# -- the harness -----------------------------------------------------------------------
class _Program:
    """The program's process, seen from the tests: its entry point as a function."""

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid, self.requests, self.answers = pid, requests, answers

    def load(self, entry_point: str) -> None:
        send(self.requests, ("load", entry_point))
        self._answer()

    def __call__(self, *args: object, **kwargs: object) -> object:
        send(self.requests, ("call", args, kwargs))
        return self._answer()

    def _answer(self) -> object:
        answer = receive(self.answers)
        if type(answer) is tuple and len(answer) == 2 and answer[0] == "ok":
            return answer[1]
        if type(answer) is tuple and len(answer) == 4 and answer[0] == "error":
            _, name, message, where = answer
            kind = getattr(builtins, str(name), None)
            if not (isinstance(kind, type) and issubclass(kind, Exception)):
                kind, message = RuntimeError, f"{name}: {message}"
            error = kind(message)
            if where and hasattr(error, "add_note"):
                error.add_note(f"raised in the program:\n{where}")
            raise error
        raise ValueError("the program's process answered out of protocol")

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


_SOURCES: dict[str, str] = {}
"""The tests' sources by file name, for the traceback of a failure."""


def _run_source(source: str, name: str, namespace: dict) -> None:
    _SOURCES[name] = source
    exec(compile(source, name, "exec"), namespace)


def _report(exc: BaseException) -> str:
    """The traceback of a failed check, without the harness's own frames: what a
    test-driven repair loop shows the model."""
    import linecache  # here, not at the top: a passing check never pays for them
    import traceback

    for name, source in _SOURCES.items():  # so that the traceback quotes the failing line
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    report = traceback.TracebackException.from_exception(exc)
    harness = os.path.abspath(__file__)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if os.path.abspath(frame.filename) != harness]
    )
    return "".join(report.format())


def _harden() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        # without it a same-uid program could trace the harness: refuse to grade
        raise SystemExit("cannot make the harness non-dumpable") from None
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)


def main() -> None:
    _harden()
    requests_read, requests_write = os.pipe()
    answers_read, answers_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(requests_write)
        os.close(answers_read)
        try:
            serve(requests_read, answers_write)
        finally:
            os._exit(0)
    os.close(requests_read)
    os.close(answers_write)
    program = _Program(pid, requests_write, answers_read)
    job = marshal.loads(sys.stdin.buffer.read())
    try:
        program.load(job["entry_point"])
        tests: dict = {"__name__": "__looplab_tests__", "__builtins__": builtins}
        _run_source(job["context"], "context.py", tests)
        tests[job["entry_point"]] = program  # tests may call it by name (HumanEval/33 does)
        _run_source(job["test"], "test.py", tests)
        tests["check"](program)
    except BaseException as exc:
        program.stop()
        sys.stderr.write(_report(exc))
        sys.stderr.flush()
        os._exit(1)
    program.stop()
    sys.stdout.write(f"LOOPLAB-PASSED-{job['nonce']}\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
