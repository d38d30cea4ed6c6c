"""The runner: the program the Docker and process backends start inside their
isolation, once per run or, in a warm container, once per container.

This file is package data, not a module looplab imports: its source is run
by ``python3 -I -S -c`` (so an image needs nothing but a Python 3
interpreter), followed by ``main()`` or ``supervise()`` (``_runner.py``).
It serves ``marshal``-encoded requests::

    {"workdir": "/work/ab12", "files": {"main.py": b"..."}, "argv": [...],
     "env": {...}, "stdin": b"...", "timeout": 5.0, "output_limit": 65536,
     "rlimits": {"RLIMIT_CPU": 6, ...}, "kill_all": False, "scratch": ["/tmp"],
     "user": 65534, "tag": "9f2c..."}

For each, it forks the program in a new session, which (as ``user``, when
given) writes the files into a fresh directory, takes the resource limits
and execs; the runner feeds its stdin, drains stdout and stderr (keeping at
most ``output_limit`` bytes of each whatever the program writes), kills it at
the timeout, kills whatever it left running (its session, or with
``kill_all`` every other process in the PID namespace), removes the
directory, empties the ``scratch`` directories (what a reused container
shares between runs) and prints one JSON line after the request's ``tag``;
``healthy`` is false when anything was left behind.

``ONE_SHOT`` reads one request on stdin until EOF (the process backend).
``SUPERVISOR`` is PID 1 of a warm container, as root with just the
capabilities to switch user, signal and clean up: it reads requests framed
by an 8-byte length, one after another, and runs every program as ``user``
(nobody), which can neither signal, trace nor write to it. A program that
runs as the runner's own uid (the process backend) may write to the
runner's stdout through /proc: the tag, which only the runner and the host
know, marks the one line that is the result, so a forged or corrupting line
is ignored.

It imports only modules built into the interpreter (no json, subprocess or
shutil): their imports alone cost ~25 ms, more than the rest of a run.
"""

import binascii
import marshal
import os
import resource
import select
import sys
import time

KILL = 9


def b64(data):
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def oom_kills():
    # cgroup v2, then v1: how many processes the kernel killed for memory so far
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
    return 0


def session_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[3])  # state ppid pgrp SESSION
    except (OSError, ValueError, IndexError):
        return None


def leftovers(session, kill_all):
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            pid = int(name)
            if pid not in (me, 1) and (kill_all or session_of(pid) == session):
                found.append(pid)
    return found


def reap():
    # as PID 1, the orphans of every run are ours to reap
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def kill_leftovers(session, kill_all):
    # True once nothing the program started is left, zombies reaped too
    for _ in range(100):
        reap()
        pids = leftovers(session, kill_all)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, KILL)
            except OSError:
                pass
        time.sleep(0.01)
    return False


def remove_tree(top):
    for root, dirs, files in os.walk(top, topdown=False):
        for name in files + dirs:
            path = os.path.join(root, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
            except OSError:
                pass
    try:
        os.rmdir(top)
    except OSError:
        pass


def empty(top):
    # True once nothing is left in top: what one run leaves, the next must not find
    try:
        names = os.listdir(top)
    except OSError:
        return True
    for name in names:
        path = os.path.join(top, name)
        if os.path.isdir(path) and not os.path.islink(path):
            remove_tree(path)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    try:
        return not os.listdir(top)
    except OSError:
        return False


def ipc_left():
    # True when a run left a kernel IPC object: SysV shared memory, message queues or
    # semaphores (/proc/sysvipc lists the namespace's; charged to the container even with
    # no process left) or a POSIX message queue. The runner cannot remove SysV objects
    # without ctypes, so the container is not reused: the next run gets a fresh namespace.
    for kind in ("shm", "msg", "sem"):
        try:
            with open("/proc/sysvipc/" + kind) as f:
                if len(f.read().splitlines()) > 1:  # a header line, then one per object
                    return True
        except OSError:
            pass
    try:
        return bool(os.listdir("/dev/mqueue"))
    except OSError:
        return False


def write_files(request):
    workdir = request["workdir"]
    os.makedirs(workdir, exist_ok=True)
    base = os.path.realpath(workdir) + os.sep
    for name, data in request["files"].items():
        path = os.path.realpath(os.path.join(workdir, name))
        if not path.startswith(base):
            raise ValueError("file name escapes the work directory: %r" % name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def become(user):
    # the program, not the runner, is the one the kernel kills for memory
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    os.setgroups([])
    os.setgid(user)
    os.setuid(user)  # from root: every capability goes too


def start(request):
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    argv = request["argv"]
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.closerange(3, 1024)
            if request.get("user") is not None:
                become(request["user"])
            write_files(request)  # as the program's user: the files are its own
            os.chdir(request["workdir"])
            for name, value in request["rlimits"].items():
                resource.setrlimit(getattr(resource, name), (value, value))
            os.execvpe(argv[0], argv, request["env"])
        except BaseException as exc:
            os.write(2, ("cannot run %r: %s\n" % (argv[0], exc)).encode())
        os._exit(127)
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    return pid, in_w, out_r, err_r


def serve(request):
    workdir = request["workdir"]
    limit = request["output_limit"]
    oom_before = oom_kills()
    started = time.monotonic()
    deadline = started + request["timeout"]
    pid, in_w, out_r, err_r = start(request)
    pending = request["stdin"]
    if not pending:
        os.close(in_w)
        in_w = None
    else:
        os.set_blocking(in_w, False)
    try:
        exited_fd = os.pidfd_open(pid)  # readable once the program exits: no polling delay
    except (AttributeError, OSError):
        exited_fd = None
    kept = {out_r: bytearray(), err_r: bytearray()}
    open_fds = [out_r, err_r]
    truncated = timed_out = False
    status = None
    drain_until = None
    while True:
        now = time.monotonic()
        if status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
                drain_until = now + 0.2  # a leftover child may hold the pipes open
        if not open_fds and status is not None:
            break
        if drain_until is not None and now > drain_until:
            break
        if now >= deadline:
            timed_out = status is None
            break
        wait = min(deadline - now, 0.05 if status is None else 0.2)
        writers = [in_w] if in_w is not None else []
        watched = open_fds + ([exited_fd] if exited_fd is not None and status is None else [])
        readable, writable, _ = select.select(watched, writers, [], wait)
        readable = [fd for fd in readable if fd != exited_fd]
        if writable:
            try:
                sent = os.write(in_w, pending[:65536])
                pending = pending[sent:]
            except OSError:
                pending = b""  # the program closed its stdin: not our error
            if not pending:
                os.close(in_w)
                in_w = None
        for fd in readable:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                continue
            room = limit - len(kept[fd])
            if room > 0:
                kept[fd] += chunk[:room]
            if len(chunk) > max(room, 0):
                truncated = True
    if status is None:
        try:
            os.killpg(pid, KILL)
        except OSError:
            pass
        status = os.waitpid(pid, 0)[1]
    duration = time.monotonic() - started
    clean = kill_leftovers(pid, request["kill_all"])
    remove_tree(workdir)
    for top in request["scratch"]:
        clean = empty(top) and clean
    if request.get("forget_ipc") and ipc_left():
        clean = False
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code
    stderr = bytes(kept[err_r])
    oom_killed = oom_kills() > oom_before or (code != 0 and b"MemoryError" in stderr[-2000:])
    flags = {
        "timed_out": timed_out,
        "truncated": truncated,
        "oom_killed": oom_killed,
        "healthy": clean and not oom_killed and not timed_out,
    }
    for fd in (out_r, err_r, in_w, exited_fd):
        if fd is not None:
            os.close(fd)
    return '\n%s{"stdout": "%s", "stderr": "%s", "exit_code": %d, "duration": %.6f, %s}\n' % (
        request["tag"],
        b64(bytes(kept[out_r])),
        b64(stderr),
        code,
        duration,
        ", ".join('"%s": %s' % (k, "true" if v else "false") for k, v in flags.items()),
    )


def main():
    sys.stdout.write(serve(marshal.loads(sys.stdin.buffer.read())))
    sys.stdout.flush()


def read_exactly(stream, size):
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise SystemExit(0)  # the host let go of us: the container ends
        data += chunk
    return data


def supervise():
    stream = sys.stdin.buffer
    while True:
        size = int.from_bytes(read_exactly(stream, 8), "big")
        sys.stdout.write(serve(marshal.loads(read_exactly(stream, size))))
        sys.stdout.flush()
