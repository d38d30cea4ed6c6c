"""The eval runner: run directories, resume after kill -9, errors, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from looplab.errors import EvalError, LLMConnectionError
from looplab.records import TaskResult
from looplab.runs import EvalConfig, RunStore, read_results, run_eval
from tests.helpers.delay_server import DelayServer


@pytest.fixture
def server():
    fake = DelayServer(delay_s=0.02)
    yield fake
    fake.close()


def config(server, **overrides) -> EvalConfig:
    values = dict(
        tasks="arithmetic:n=12", model=f"openai:fake@{server.base_url}", max_iters=2, concurrency=4
    )
    values.update(overrides)
    return EvalConfig(**values)


def test_run_directory_holds_manifest_results_and_recording(tmp_path, server):
    run = run_eval(config(server), tmp_path / "run")
    manifest = RunStore(run).manifest()
    assert manifest.config["tasks"] == "arithmetic:n=12" and manifest.task_count == 12
    assert manifest.versions["looplab"] and manifest.python and manifest.started
    results = read_results(run)
    assert sorted(r.task_id for r in results) == sorted(f"arith-d2s1-0-{i}" for i in range(12))
    for result in results:
        assert result.error is None
        assert len(result.grades) == len(result.trajectory.attempts)
    lines = (run / "completions.jsonl").read_text().splitlines()
    assert len(lines) == sum(r.trajectory.usage.calls for r in results)


def test_replaying_a_run_gives_identical_trajectories(tmp_path, server):
    first = run_eval(config(server, concurrency=1), tmp_path / "a")
    replayed = run_eval(config(server, concurrency=1, model=f"replay:{first}"), tmp_path / "b")
    a = {r.task_id: r.trajectory for r in read_results(first)}
    b = {r.task_id: r.trajectory for r in read_results(replayed)}
    assert a.keys() == b.keys()
    for key in a:
        assert [x.text for x in a[key].attempts] == [x.text for x in b[key].attempts]
        assert [c.raw for c in a[key].critiques] == [c.raw for c in b[key].critiques]


def test_a_dead_server_fails_before_any_task_runs(tmp_path):
    bad = EvalConfig(
        tasks="arithmetic:n=3", model="openai:m@http://127.0.0.1:9/v1", max_iters=1, concurrency=2
    )
    started = time.monotonic()
    with pytest.raises(LLMConnectionError, match=r"cannot reach the model server.*127\.0\.0\.1:9"):
        run_eval(bad, tmp_path / "run")
    assert time.monotonic() - started < 10
    assert not (tmp_path / "run").exists()  # no empty run directory left behind


def test_a_failing_task_is_recorded_and_the_run_goes_on(tmp_path):
    """The server is up but refuses every request: each task records its error."""
    from tests.helpers.fault_server import FaultServer

    with FaultServer() as server:
        server.script.extend([("status", 400)] * 50)
        failing = EvalConfig(
            tasks="arithmetic:n=3", model=f"openai:m@{server.base_url}", max_iters=1
        )
        run = run_eval(failing, tmp_path / "run")
    results = read_results(run)
    assert len(results) == 3
    assert all(r.error and "LLMServerError" in r.error for r in results)


def test_an_existing_run_is_not_overwritten(tmp_path, server):
    run_eval(config(server, tasks="arithmetic:n=2"), tmp_path / "run")
    from looplab.errors import EvalError

    with pytest.raises(EvalError, match="already holds a run"):
        run_eval(config(server, tasks="arithmetic:n=2"), tmp_path / "run")


def test_torn_last_line_is_cut_and_redone_on_resume(tmp_path, server):
    run = run_eval(config(server, tasks="arithmetic:n=4"), tmp_path / "run")
    path = run / "trajectories.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # killed mid-write
    run_eval(None, run, resume=True)
    results = read_results(run)
    assert len(results) == 4 and len({r.task_id for r in results}) == 4
    assert path.read_text().splitlines(keepends=True)[:2] == lines[:2]


@pytest.mark.parametrize(
    ("tasks", "concurrency", "workers", "kill_after"),
    [(40, 4, 1, 10), (600, 64, 2, 100)],
    ids=["threads", "2-processes-concurrency-64"],
)
def test_resume_after_kill_9_loses_and_duplicates_nothing(
    tmp_path, server, tasks, concurrency, workers, kill_after
):
    """A real `looplab eval` process is killed with SIGKILL mid-run, then resumed; with
    worker processes, the workers must go too (they would keep calling the server)."""
    run = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "looplab.cli",
        "eval",
        "--tasks",
        f"arithmetic:n={tasks}",
        "--model",
        f"openai:fake@{server.base_url}",
        "--max-iters",
        "2",
        "--concurrency",
        str(concurrency),
        "--workers",
        str(workers),
        "--run-dir",
        str(run),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = run / "trajectories.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results.exists() and results.read_text().count("\n") >= kill_after:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = results.read_text().splitlines(keepends=True)
    kept = [line for line in before if line.endswith("\n")]
    assert kill_after <= len(kept) < tasks, "the kill must land in the middle of the run"
    time.sleep(1.5)  # orphaned workers would still be answering their tasks in flight
    requests = server.requests
    time.sleep(1.0)
    assert server.requests == requests, "a worker outlived the killed driver"

    resumed = subprocess.run(
        [sys.executable, "-m", "looplab.cli", "eval", "--resume", str(run),
         "--workers", str(workers), "--no-report"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    final = read_results(run)
    keys = [(r.task_id, r.sample) for r in final]
    assert len(keys) == tasks and len(set(keys)) == tasks  # nothing lost, nothing duplicated
    assert all(r.error is None for r in final)
    assert results.read_text().splitlines(keepends=True)[: len(kept)] == kept  # prefix untouched
    recorded = (run / "completions.jsonl").read_text().splitlines()
    assert len(recorded) == sum(r.trajectory.usage.calls for r in final)  # exactly the finished


def test_samples_get_distinct_stable_seeds(tmp_path, server):
    run = run_eval(
        config(server, tasks="arithmetic:n=2", samples=3, temperature=0.7, max_iters=1),
        tmp_path / "run",
    )
    results = read_results(run)
    assert sorted((r.task_id, r.sample) for r in results) == [
        (f"arith-d2s1-0-{i}", s) for i in range(2) for s in range(3)
    ]
    recorded = [json.loads(line) for line in (run / "completions.jsonl").read_text().splitlines()]
    seeds = {
        line["request"]["options"]["seed"]
        for line in recorded
        if line["request"]["options"]["json_schema"] is None
    }
    assert len(seeds) == 6


def test_task_result_final_correct_follows_the_chosen_attempt():
    from looplab.records import Attempt, Trajectory

    t = Trajectory(
        task_id="x",
        graph="best_of_n",
        chosen=0,
        attempts=[Attempt(iteration=0, text="a"), Attempt(iteration=1, text="b")],
    )
    assert TaskResult(task_id="x", trajectory=t, grades=[True, False]).final_correct


def test_cli_says_in_one_line_that_the_model_server_is_dead(tmp_path):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "looplab.cli", "eval", "--model", "openai:x@http://127.0.0.1:1/v1",
         "--limit", "3", "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot reach the model server" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 20


def test_cli_exits_non_zero_and_groups_errors_when_every_task_failed(tmp_path):
    from tests.helpers.fault_server import FaultServer

    with FaultServer() as server:
        server.script.extend([("status", 400)] * 50)
        done = subprocess.run(
            [sys.executable, "-m", "looplab.cli", "eval", "--model",
             f"openai:m@{server.base_url}", "--limit", "3", "--max-iters", "1",
             "--run-dir", str(tmp_path / "run")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "3 of 3 tasks failed" in done.stdout and "3 × LLMServerError" in done.stdout
    assert "no task produced a result: all 3 failed" in done.stderr
    assert "Traceback" not in done.stderr
    assert "3 of 3 tasks failed" in (tmp_path / "run" / "report.html").read_text()


def _timeless(result: TaskResult) -> dict:
    """A result without its wall-clock fields (the only ones a replay may change)."""
    data = result.model_dump()

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("latency_s", "ms")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(data)


def test_worker_processes_give_the_same_results_and_recording(tmp_path, server):
    threads = run_eval(config(server, tasks="arithmetic:n=16", concurrency=4), tmp_path / "t")
    processes = run_eval(
        config(server, tasks="arithmetic:n=16", concurrency=4), tmp_path / "p", workers=2
    )
    a = {r.task_id: _timeless(r) for r in read_results(threads)}
    b = {r.task_id: _timeless(r) for r in read_results(processes)}
    assert a == b
    results = read_results(processes)
    recorded = (processes / "completions.jsonl").read_text().splitlines()
    assert len(recorded) == sum(r.trajectory.usage.calls for r in results)

    # a replay of the processes' run, itself on processes: the same trajectories
    replay = config(server, tasks="arithmetic:n=16", concurrency=4, model=f"replay:{processes}")
    replayed = run_eval(replay, tmp_path / "r", workers=2)
    assert {r.task_id: _timeless(r) for r in read_results(replayed)} == b


def test_default_workers_use_every_core_only_for_server_models():
    from looplab.runs import default_workers

    assert default_workers(["openai:m@http://h/v1"], 8) == 8
    assert default_workers(["replay:runs/x"], 2) == 2
    assert default_workers(["local"], 8) == 1
    assert default_workers(["openai:m", "gguf:/models/x.gguf"], 8) == 1


def _spawned_workers() -> list[int]:
    """Worker processes this test process spawned (multiprocessing's spawn_main)."""
    from pathlib import Path

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == os.getpid() and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _tcp_ports(pid: int) -> set[int]:
    """The local ports of process ``pid``'s TCP sockets (from /proc: its socket inodes
    matched against the kernel's TCP table)."""
    from pathlib import Path

    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_a_worker_process_that_dies_stops_the_run_and_resume_finishes_it(tmp_path):
    # The kill must land while the worker has a request in flight: a worker that holds
    # no job when it dies loses nothing, and the run rightly finishes without it.
    server = DelayServer(delay_s=0.2)
    killed = []

    def progress(result, done, total):
        if done < 20 or killed:
            return
        workers = _spawned_workers()
        assert workers, "the run has no worker process to kill"
        deadline = time.monotonic() + 30
        while not (_tcp_ports(workers[0]) & server.in_flight_ports):
            assert time.monotonic() < deadline, "the worker process never sent a request"
            time.sleep(0.01)
        os.kill(workers[0], signal.SIGKILL)
        killed.append(workers[0])

    run = tmp_path / "run"
    try:
        with pytest.raises(EvalError, match=r"worker process died.*--resume"):
            run_eval(
                config(server, tasks="arithmetic:n=100", concurrency=8),
                run,
                workers=2,
                progress=progress,
            )
        saved = read_results(run)
        assert 1 <= len(saved) < 100
        run_eval(None, run, resume=True, workers=2)
    finally:
        server.close()
    keys = [(r.task_id, r.sample) for r in read_results(run)]
    assert len(keys) == 100 and len(set(keys)) == 100
