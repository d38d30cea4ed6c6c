"""The run directory: a manifest and an append-only file of results.

    RUN_DIR/
      manifest.json        the full configuration, versions, seeds, start time, git revision
      trajectories.jsonl   one TaskResult per finished (task, sample), flushed and fsynced
      completions.jsonl    every model completion (the recording ``replay:RUN_DIR`` replays)
      report.html, plots/  written by ``looplab report``

A result line is written only once its task is finished, in one write; a run
killed at any moment leaves at most a torn last line, which is cut off when
the run resumes. Results are keyed by (task id, sample), so resuming never
duplicates one.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import threading
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field

from looplab.errors import EvalError
from looplab.files import make_dir, open_append, write_file
from looplab.llm import RECORDING_FILE
from looplab.records import TaskResult
from looplab.runs._config import EvalConfig

__all__ = ["MANIFEST", "RESULTS", "Manifest", "RunStore", "read_results", "tagged_line"]

MANIFEST = "manifest.json"
"""The run directory's manifest file."""
RESULTS = "trajectories.jsonl"
"""The run directory's results: one TaskResult per line, appended and fsynced."""
_PACKAGES = (
    "looplab", "langgraph", "llama_cpp_python", "openai", "pydantic", "sympy", "docker",
    "scikit-learn",
)  # fmt: skip


class Manifest(BaseModel):
    """What a run was: its config, package versions, platform and git revision."""

    version: int = 1
    config: dict[str, Any]
    """Everything needed to run again: task spec, graph, models, iterations, seeds, ..."""
    started: str
    versions: dict[str, str]
    python: str
    platform: str
    git_revision: str | None = None
    task_count: int = 0
    labels: dict[str, str] = Field(default_factory=dict)
    """What the run is part of: for a study's arm, ``study``, ``arm`` (its folder),
    ``shown`` (the name the study's tables give it) and ``command`` (the study command
    that made it, which finishes it too)."""
    graph_sha256: str | None = None
    """The sha256 of a user graph's source file (None for a prebuilt graph): which code
    made the run; resume and fork refuse a file that differs."""
    verifier_sha256: str | None = None
    """The sha256 of a ``learned:FILE`` critic's verifier (None for other sources):
    resume refuses another."""


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def read_results(run_dir: str | Path) -> list[TaskResult]:
    """Every complete result line of a run (a torn last line is skipped)."""
    path = Path(run_dir) / RESULTS
    if not path.is_file():
        raise EvalError(f"{run_dir} is not a run directory (no {RESULTS})")
    results = []
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):
                break  # torn by a kill: the task runs again on resume
            try:
                results.append(TaskResult.model_validate_json(line))
            except ValueError as exc:  # bad UTF-8, JSON or fields: a damaged file
                raise EvalError(f"{path}:{number} is not a result line: {_first(exc)}") from None
    return results


def _first(exc: Exception) -> str:
    """The first line of what was wrong, for a one-line error."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            where = ".".join(str(p) for p in found[0].get("loc", ()))
            return f"{where + ': ' if where else ''}{found[0].get('msg', '')}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class RunStore:
    """Writes a run directory; the only writer of its results file."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        self._lock = threading.Lock()
        self._files: dict[str, TextIO] = {}
        self._writer: int | None = None
        """The run directory's descriptor, flocked while this store writes it."""

    @property
    def results_path(self) -> Path:
        """The results file's path."""
        return self.dir / RESULTS

    def create(
        self,
        config: dict[str, Any],
        task_count: int,
        *,
        graph_sha256: str | None = None,
        verifier_sha256: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Manifest:
        """Start a new run directory: write the manifest. A run that has results is an
        error (resume it); one that never started -- a manifest and nothing else, left by
        a command that failed before its first task -- is replaced."""
        make_dir(self.dir)
        self.lock()
        if (self.dir / MANIFEST).exists() and not self._never_started():
            self.close()
            raise EvalError(f"{self.dir} already holds a run: resume it with --resume {self.dir}")
        manifest = Manifest(
            config=config,
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            versions=_versions(),
            python=platform.python_version(),
            platform=platform.platform(),
            git_revision=_git_revision(),
            task_count=task_count,
            graph_sha256=graph_sha256,
            verifier_sha256=verifier_sha256,
            labels=labels or {},
        )
        write_file(self.dir / MANIFEST, manifest.model_dump_json(indent=2))
        open_append(self.results_path).close()
        return manifest

    def lock(self) -> None:
        """Take the directory for writing: a second process writing the same run (a
        resume while it runs, say) is refused, not interleaved. Released by ``close``."""
        import fcntl

        if self._writer is not None:
            return
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EvalError(f"{self.dir} is being written by another looplab process") from None
        self._writer = fd

    def _never_started(self) -> bool:
        """Nothing but a manifest: no result and no recorded completion."""
        return all(
            not (self.dir / name).is_file() or (self.dir / name).stat().st_size == 0
            for name in (RESULTS, RECORDING_FILE)
        )

    def manifest(self) -> Manifest:
        """The run's manifest."""
        path = self.dir / MANIFEST
        if not path.is_file():
            raise EvalError(f"{self.dir} is not a run directory (no {MANIFEST})")
        try:
            return Manifest.model_validate_json(path.read_bytes())
        except ValueError as exc:
            raise EvalError(f"{path} is not a looplab manifest: {_first(exc)}") from None

    def config(self) -> EvalConfig:
        """The run's configuration, checked: a damaged manifest is one error naming it."""
        manifest = self.manifest()
        missing = [key for key in ("tasks", "graph") if key not in manifest.config]
        if missing:
            raise EvalError(f"{self.dir / MANIFEST}: its config has no {', '.join(missing)}")
        try:
            return EvalConfig.model_validate(manifest.config)
        except ValueError as exc:
            raise EvalError(
                f"{self.dir / MANIFEST}: its config is damaged: {_first(exc)}"
            ) from None

    def done_keys(self) -> set[tuple[str, int]]:
        """The (task, sample) pairs already finished; a torn last line is cut off first, and
        recorded completions of tasks that did not finish are dropped (they run again)."""
        self._truncate_torn_tail()
        done = {(r.task_id, r.sample) for r in read_results(self.dir)}
        self._drop_unfinished_completions(done)
        return done

    def _drop_unfinished_completions(self, done: set[tuple[str, int]]) -> None:
        path = self.dir / RECORDING_FILE
        if not path.is_file():
            return
        kept, dropped = [], False
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.endswith(b"\n"):
                    dropped = True  # torn by a kill
                    continue
                try:
                    line = raw.decode("utf-8")
                    record = json.loads(line)
                    task = record.get("task") if isinstance(record, dict) else None
                    if not isinstance(record, dict) or not (
                        task is None or (isinstance(task, list) and len(task) == 2)
                    ):
                        raise ValueError("not a recorded completion")
                except ValueError as exc:  # only a torn last line is cut; this is damage
                    raise EvalError(
                        f"{path}:{number} is not a recorded completion: {_first(exc)}"
                    ) from None
                if task is not None and (task[0], task[1]) not in done:
                    dropped = True
                    continue
                kept.append(line)
        if dropped:
            write_file(path, "".join(kept))

    def _truncate_torn_tail(self) -> None:
        path = self.results_path
        if not path.is_file():
            return
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            write_file(path, data[: data.rfind(b"\n") + 1])

    def append(self, result: TaskResult, *, completions: list[str] = ()) -> None:
        """Write a finished task: its recorded completions (tagged with the task, so a
        resume can drop those of unfinished tasks), then its result line, fsynced."""
        line = result.model_dump_json() + "\n"
        with self._lock:
            if completions:
                tag = json.dumps([result.task_id, result.sample], ensure_ascii=False)
                recording = self._appending(RECORDING_FILE)
                recording.write("".join(tagged_line(c, tag) for c in completions))
                recording.flush()
            results = self._appending(RESULTS)
            results.write(line)
            results.flush()
            os.fsync(results.fileno())

    def _appending(self, name: str) -> TextIO:
        """The run's file ``name``, opened for appending once and kept open until ``close``."""
        file = self._files.get(name)
        if file is None:
            file = self._files[name] = open_append(self.dir / name)
        return file

    def close(self) -> None:
        """Close the run's files and let other processes write it."""
        with self._lock:
            for file in self._files.values():
                file.close()
            self._files.clear()
            if self._writer is not None:
                os.close(self._writer)  # closing the descriptor releases the flock
                self._writer = None


def tagged_line(line: str, tag: str) -> str:
    """A recorded completion (one JSON object) with ``"task": tag`` added, spliced in as
    text: parsing and re-encoding every request took a fifth of the driver's CPU (py-spy).
    A key already there is overridden, as a later duplicate key is when read."""
    body = line.rstrip()
    if not body.endswith("}") or body == "{}":
        raise ValueError(f"not a recorded completion: {body[:60]!r}")
    return f'{body[:-1]}, "task": {tag}}}\n'
