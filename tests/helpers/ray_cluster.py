"""A real two-node Ray cluster on 127.0.0.1: a head and a second node, one CPU each.

The head listens outside Ray's default worker-port range (10002-19999). The
second node runs under ``ray start --block`` in a session of its own, so the
test can kill that whole node -- its raylet and its workers -- with one signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.net import free_port

RAY = str(Path(sys.executable).with_name("ray"))
# Node deaths noticed within seconds, not the default half minute; no token
# authentication on a loopback test cluster (the driver process sets the same).
ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


class RayCluster:
    def __init__(self, *, cpus_per_node: int = 1, second_node: bool = True) -> None:
        self.cpus = cpus_per_node
        self.port = free_port()  # ephemeral: above Ray's worker ports 10002-19999
        self.address = f"127.0.0.1:{self.port}"
        self.second: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
             "--num-cpus", str(self.cpus), "--include-dashboard", "false",
             "--disable-usage-stats"],
            check=True, capture_output=True, env=ENV, timeout=120,
        )  # fmt: skip
        if second_node:
            self.start_second_node()
        else:
            self.wait_for_cpus(self.cpus)

    def start_second_node(self) -> None:
        self.second = subprocess.Popen(
            [RAY, "start", "--address", self.address, "--node-ip-address", "127.0.0.1",
             "--num-cpus", str(self.cpus), "--block", "--disable-usage-stats"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
            start_new_session=True,
        )  # fmt: skip
        self.wait_for_cpus(2 * self.cpus)

    def wait_for_cpus(self, cpus: int, timeout: float = 90) -> None:
        probe = (
            f"import ray; ray.init(address={self.address!r}, log_to_driver=False); "
            "print(int(ray.cluster_resources().get('CPU', 0)))"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, timeout=60
            )
            if out.stdout.strip() == str(cpus):
                return
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not reach {cpus} CPUs")

    def kill_second_node(self) -> None:
        """SIGKILL the second node's raylet and every worker it started."""
        assert self.second is not None
        os.killpg(self.second.pid, signal.SIGKILL)
        self.second.wait(timeout=30)
        self.second = None

    def stop(self) -> None:
        if self.second is not None:
            self.kill_second_node()
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=ENV, timeout=120)
