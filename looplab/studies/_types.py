"""What every study is made of: options, tables, references, the Study record."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from looplab.errors import EvalError
from looplab.records import TaskResult
from looplab.report import Table
from looplab.runs import EvalConfig

__all__ = ["Reference", "Study", "StudyOptions", "data_dir", "default_data_dir"]


def default_data_dir() -> Path:
    """Where the public data sets are: ``$LOOPLAB_DATA``, else ``../shared/data``."""
    return Path(os.environ.get("LOOPLAB_DATA", "../shared/data"))


@dataclass(frozen=True)
class Reference:
    """A published number, quoted as a reference line beside a study's own."""

    label: str
    value: float
    model: str
    source: str


@dataclass
class StudyOptions:
    """What a study is run with: models, limits, data folder and each study's knobs."""

    model: str = "local"
    critic_model: str | None = None
    limit: int | None = None
    """Tasks (per BIG-Bench task for mistake-finding); each study has a small default."""
    data: Path = field(default_factory=default_data_dir)
    samples: int | None = None
    """self-repair: initial programs per task (n_p's largest); mistake-finding: backtracking
    samples per trace."""
    repairs: int | None = None
    """self-repair: repairs per failing program (n_fr's largest)."""
    finder_style: str = "trace"
    concurrency: int = 4
    seed: int = 0
    tasks: str | None = None
    """compute, feedback: the task set (default: generated one-step arithmetic)."""
    budgets: tuple[int, ...] = (3, 5)
    """compute: the compute levels, in answers per task, each method is run at."""
    temperature: float = 0.7
    """compute: the sampling temperature of the arms that sample (votes, best-of-n)."""
    arms: tuple[str, ...] | None = None
    """feedback: which arms to run (None: the default set, see ``FEEDBACK_ARMS``)."""
    max_iters: int | None = None
    """feedback: attempts per task, the first and its repairs (None: 2)."""
    verifier: str | None = None
    """compute: a verifier file (``looplab verifier train``); adds best_of_n ranked by it
    at every level (its hidden-state passes counted in its tokens)."""


@dataclass(frozen=True)
class Study:
    """A study: its arms (ordinary runs), how they are summarized and plotted, and the paper it
    follows."""

    name: str
    paper: str
    about: str
    default_limit: int
    arms: Callable[[StudyOptions], dict[str, EvalConfig]]
    summarize: Callable[[dict[str, list[TaskResult]], StudyOptions], list[Table]]
    references: tuple[Reference, ...] = ()
    plot: Callable[[dict[str, list[TaskResult]], StudyOptions, Path], list[Path]] | None = None
    """Writes the study's figures into its folder; returns their paths."""
    labels: dict[str, str] = field(default_factory=dict)
    """Arm folder (a plain slug) -> the name tables and manifests show; a study folder
    made when the shown names were the folder names still opens."""


def data_dir(options: StudyOptions, sub: str) -> Path:
    """The data set folder ``sub`` under the study's data folder; a clear error when missing."""
    path = options.data / sub
    if not path.exists():
        raise EvalError(
            f"no {sub} under {options.data}: give --data DIR (the folder holding gsm8k/ and "
            "big-bench-mistake/) or set LOOPLAB_DATA"
        )
    return path
