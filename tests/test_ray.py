"""The Ray executor on a real two-node cluster on this machine (a head and a second node,
one CPU each): same results as the local executor, exactly once through node death and
through a killed driver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from looplab.runs import EvalConfig, read_results, run_eval
from tests.helpers.delay_server import DelayServer

ray = pytest.importorskip("ray", reason="Ray is the optional extra looplab[ray]")

from tests.helpers.ray_cluster import ENV, RayCluster  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # the driver, as the test cluster's nodes
    found = RayCluster()
    yield found
    ray.shutdown()
    found.stop()
    if previous is None:
        os.environ.pop("RAY_AUTH_MODE", None)
    else:
        os.environ["RAY_AUTH_MODE"] = previous


def by_key(run):
    return {(r.task_id, r.sample): r for r in read_results(run)}


def assert_exactly_once(run, tasks):
    results = read_results(run)
    keys = [(r.task_id, r.sample) for r in results]
    assert len(keys) == len(set(keys)) == tasks
    assert not [r.error for r in results if r.error]
    recorded = (run / "completions.jsonl").read_text().splitlines()
    assert len(recorded) == sum(r.trajectory.usage.calls for r in results)


@pytest.mark.slow
def test_ray_gives_the_local_executors_results_on_a_replayed_model(tmp_path, cluster):
    server = DelayServer(0.0)
    try:
        config = EvalConfig(
            tasks="arithmetic:n=12", model=f"openai:fake@{server.base_url}", max_iters=2
        )
        recorded = run_eval(config, tmp_path / "recorded")
    finally:
        server.close()
    replay = config.model_copy(update={"model": f"replay:{recorded}", "concurrency": 2})
    local = by_key(run_eval(replay, tmp_path / "local"))
    on_ray = by_key(run_eval(replay, tmp_path / "ray", executor="ray", ray_address=cluster.address))
    assert local.keys() == on_ray.keys() and len(local) == 12
    for key, result in local.items():
        other = on_ray[key]
        assert result.grades == other.grades
        assert [a.text for a in result.trajectory.attempts] == [
            a.text for a in other.trajectory.attempts
        ]
        assert [c.raw for c in result.trajectory.critiques] == [
            c.raw for c in other.trajectory.critiques
        ]
    assert_exactly_once(tmp_path / "ray", 12)


@pytest.mark.slow
def test_killing_a_node_mid_run_loses_and_duplicates_nothing(tmp_path, cluster):
    server = DelayServer(0.25)
    config = EvalConfig(
        tasks="arithmetic:n=16", model=f"openai:fake@{server.base_url}", max_iters=2,
        concurrency=2,
    )  # fmt: skip
    killer = threading.Timer(4.0, cluster.kill_second_node)
    killer.start()
    started = time.monotonic()
    try:
        run = run_eval(config, tmp_path / "run", executor="ray", ray_address=cluster.address)
        assert time.monotonic() - started > 5.0  # the node died while the run went on
    finally:
        killer.join()
        server.close()
        cluster.start_second_node()
    assert_exactly_once(run, 16)


@pytest.mark.slow
def test_resume_after_killing_the_driver(tmp_path, cluster):
    server = DelayServer(0.2)
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "looplab.cli", "eval", "--tasks", "arithmetic:n=14",
        "--model", f"openai:fake@{server.base_url}", "--max-iters", "2", "--concurrency", "2",
        "--executor", "ray", "--ray-address", cluster.address, "--run-dir", str(run),
    ]  # fmt: skip
    try:
        driver = subprocess.Popen(
            command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        results = run / "trajectories.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 3:
                break
            time.sleep(0.2)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        assert 3 <= len(read_results(run)) < 14
        resumed = subprocess.run(
            [sys.executable, "-m", "looplab.cli", "eval", "--resume", str(run),
             "--executor", "ray", "--ray-address", cluster.address],
            env=ENV, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "resuming:" in resumed.stderr
    finally:
        server.close()
    assert_exactly_once(run, 14)


def test_the_ray_executor_refuses_a_bad_config_on_the_driver(tmp_path):
    from looplab.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown feedback"):
        run_eval(EvalConfig(tasks="arithmetic:n=1", feedback="loud"), tmp_path / "r",
                 executor="ray")  # fmt: skip
