"""Study presets: the published self-correction protocols, one command each.

A study is a few ordinary runs ("arms", each its own run directory with its
own report) under one study directory, and a summary that puts the arms'
numbers side by side -- beside the paper's published headline where one is
quoted here, labelled with the model it came from (a reference line, not a
claim about the model under test). Running the same study command again on
the same directory resumes its unfinished arms.

- ``intrinsic-self-correction`` (Huang et al. 2023): GSM8K, answer ->
  self-review -> revise, two rounds, always (no early stop), no oracle.
  Accuracy per round and the flips; the oracle-stopped variant (stop at the
  first right answer) computed from the same trajectories, beside it and
  labelled as an upper bound.
- ``self-repair`` (Olausson et al. 2024): HumanEval, one pool of initial
  programs and repairs (``repair_pool``), every (n_p, n_fr) cell estimated
  from it; pass rate against mean tokens, n_fr = 0 being the resampling
  baseline.
- ``mistake-finding`` (Tyen et al. 2023): BIG-Bench Mistake's five tasks,
  the critic's model as a mistake finder, and backtracking from the gold
  location against the random-step control.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from looplab.errors import EvalError
from looplab.files import make_dir, write_file
from looplab.metrics import (
    Estimate,
    TaskIndex,
    bootstrap_sums,
    compute_metrics,
    self_repair_grid,
)
from looplab.records import TaskResult
from looplab.report import Table, pct, save_figure
from looplab.runs import EvalConfig
from looplab.studies._browsing import BROWSING
from looplab.studies._budget import COMPUTE, FEEDBACK
from looplab.studies._types import Reference, Study, StudyOptions, data_dir
from looplab.studies._verifier import VERIFIER_STUDY

__all__ = [
    "STUDIES",
    "oracle_stopped_accuracy",
    "run_study",
    "study_arms",
    "study_catalog",
    "summary_json",
]


# -- intrinsic self-correction (Huang et al. 2023) ------------------------------

HUANG = (
    Reference("round 0 (standard prompting)", 0.759, "GPT-3.5-Turbo", "Huang et al. 2023, Table 3"),
    Reference("round 1 (self-correct)", 0.751, "GPT-3.5-Turbo", "Huang et al. 2023, Table 3"),
    Reference("round 2 (self-correct)", 0.747, "GPT-3.5-Turbo", "Huang et al. 2023, Table 3"),
)


def _self_correction_arms(o: StudyOptions) -> dict[str, EvalConfig]:
    return {
        "self-correction": EvalConfig(
            tasks=f"gsm8k:{data_dir(o, 'gsm8k')}",
            limit=o.limit,
            graph="self_refine",
            model=o.model,
            critic_model=o.critic_model,
            max_iters=3,
            stop="never",
            max_tokens=320,
            concurrency=o.concurrency,
            seed=o.seed,
        )
    }


def oracle_stopped_accuracy(results: list[TaskResult], rounds: int) -> list[Estimate]:
    """Accuracy if ground truth had stopped each loop at its first right answer: an upper
    bound computed from the same trajectories, never a self-correction result. A failed
    task counts as wrong; tasks are the unit."""
    index = TaskIndex([r.task_id for r in results])
    found = bootstrap_sums(
        {
            i: index.share([r.trajectory is not None and any(r.grades[: i + 1]) for r in results])
            for i in range(rounds)
        },
        index.tasks,
    )
    return [found[i] for i in range(rounds)]


def _self_correction_summary(arms, o: StudyOptions) -> list[Table]:
    results = arms["self-correction"]
    m = compute_metrics(results)
    upper = oracle_stopped_accuracy(results, m.iterations)
    rows = []
    for i, estimate in enumerate(m.accuracy):
        reference = HUANG[i] if i < len(HUANG) else None
        rows.append(
            [
                str(i),
                pct(estimate),
                pct(upper[i]),
                f"{reference.value:.1%} ({reference.model})" if reference else "",
            ]
        )
    flips = [
        [f"{i} → {i + 1}", *(str(c[k]) for k in ("cc", "cw", "wc", "ww"))]
        for i, c in enumerate(m.flips)
    ]
    return [
        Table(
            "accuracy per round",
            ["round", "intrinsic self-correction", "ORACLE-STOPPED (upper bound)", "published"],
            rows,
            "The oracle-stopped column stops each loop at its first right answer by ground "
            "truth: an upper bound, not self-correction. 'published': Huang et al. 2023, "
            "Table 3, GPT-3.5-Turbo on all 1,319 problems -- a reference line, not the model "
            "under test.",
        ),
        Table("flips between rounds", ["rounds", "right→right", "right→WRONG",
                                             "wrong→RIGHT", "wrong→wrong"], flips),
    ]  # fmt: skip


# -- self-repair (Olausson et al. 2024) -----------------------------------------


def _self_repair_arms(o: StudyOptions) -> dict[str, EvalConfig]:
    return {
        "pool": EvalConfig(
            tasks="humaneval",
            limit=o.limit,
            graph="repair_pool",
            model=o.model,
            samples=o.samples or 5,
            temperature=0.8,
            max_iters=1 + (o.repairs if o.repairs is not None else 3),
            max_tokens=384,
            concurrency=o.concurrency,
            seed=o.seed,
        )
    }


def _grid_axes(o: StudyOptions) -> tuple[list[int], list[int]]:
    n_p_max = o.samples or 5
    n_fr_max = o.repairs if o.repairs is not None else 3
    n_ps = sorted({n for n in (1, 2, 5, n_p_max) if n <= n_p_max})
    n_frs = sorted({n for n in (0, 1, 3, n_fr_max) if n <= n_fr_max})
    return n_ps, n_frs


def _self_repair_summary(arms, o: StudyOptions) -> list[Table]:
    n_ps, n_frs = _grid_axes(o)
    grid = self_repair_grid(arms["pool"], n_ps, n_frs)
    rows = [
        [str(c.n_p), str(c.n_fr) + (" (no repair)" if c.n_fr == 0 else ""), pct(c.pass_rate),
         f"{c.tokens.value:,.0f}" if c.tokens.value is not None else "n/a", str(c.tasks)]
        for c in grid
    ]  # fmt: skip
    return [
        Table(
            "pass rate against tokens, every (n_p, n_fr) cell from one pool",
            ["n_p", "n_fr", "pass rate", "mean tokens/task", "tasks"],
            rows,
            "n_fr = 0 is sampling without repair (the baseline), on the same token axis. "
            "Compare configurations at equal tokens, not equal n (Olausson et al. 2024).",
        )
    ]


def _self_repair_plot(arms, o: StudyOptions, root: Path) -> list[Path]:
    """Pass rate against mean tokens: one curve per n_fr over n_p, n_fr = 0 the baseline."""
    import matplotlib

    matplotlib.use("Agg")

    # graph, arm and task names are text: "$x$" must not go to the math parser
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    n_ps, n_frs = _grid_axes(o)
    grid = self_repair_grid(arms["pool"], n_ps, n_frs)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for n_fr in n_frs:
        cells = [c for c in grid if c.n_fr == n_fr and c.pass_rate.value is not None]
        if not cells:
            continue
        xs = [c.tokens.value or 0.0 for c in cells]
        ys = [c.pass_rate.value or 0.0 for c in cells]
        low = [y - (c.pass_rate.low if c.pass_rate.low is not None else y) for y, c in
               zip(ys, cells, strict=True)]  # fmt: skip
        high = [(c.pass_rate.high if c.pass_rate.high is not None else y) - y for y, c in
                zip(ys, cells, strict=True)]  # fmt: skip
        label = "sampling only (n_fr = 0)" if n_fr == 0 else f"self-repair, n_fr = {n_fr}"
        ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=3,
                    linestyle="--" if n_fr == 0 else "-", label=label)  # fmt: skip
        for c, x, y in zip(cells, xs, ys, strict=True):
            ax.annotate(f"n_p={c.n_p}", (x, y), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")  # fmt: skip
    ax.set_xlabel("mean tokens per task")
    ax.set_ylabel("pass rate (95% CI)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("self-repair against sampling at equal tokens")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [root / "self_repair.png", root / "self_repair.svg"]
    for path in paths:
        save_figure(fig, path)
    plt.close(fig)
    return paths


# -- mistake finding (Tyen et al. 2023) -----------------------------------------


def _mistake_arms(o: StudyOptions) -> dict[str, EvalConfig]:
    tasks = f"bbmistake:{data_dir(o, 'big-bench-mistake')}#{o.limit or 4}"
    common = dict(
        tasks=tasks, graph="backtrack", model=o.model, critic_model=o.critic_model,
        max_tokens=256, concurrency=o.concurrency, seed=o.seed,
    )  # fmt: skip
    k = o.samples or 1
    return {
        "find": EvalConfig(**common, locate="found", finder_style=o.finder_style),
        "backtrack-gold": EvalConfig(**common, locate="gold", temperature=1.0, samples=k),
        "backtrack-random": EvalConfig(**common, locate="random", temperature=1.0, samples=k),
    }


def _mistake_summary(arms, o: StudyOptions) -> list[Table]:
    found = compute_metrics(arms["find"])
    gold = compute_metrics(arms["backtrack-gold"])
    random_ = compute_metrics(arms["backtrack-random"])
    rows = []
    for name, t in found.mistakes_by_task.items():
        g, r = gold.mistakes_by_task.get(name), random_.mistakes_by_task.get(name)
        rows.append(
            [name, str(t.traces), pct(t.exact), pct(t.binary), pct(t.location_given_mistake),
             pct(g.repaired if g else None), pct(r.repaired if r else None)]
        )  # fmt: skip
    if found.mistakes and gold.mistakes and random_.mistakes:
        rows.append(
            ["all", str(found.mistakes.traces), pct(found.mistakes.exact),
             pct(found.mistakes.binary), pct(found.mistakes.location_given_mistake),
             pct(gold.mistakes.repaired), pct(random_.mistakes.repaired)]
        )  # fmt: skip
    return [
        Table(
            f"mistake finding ({o.finder_style} style) and backtracking",
            [
                "task",
                "traces",
                "exact location",
                "has a mistake",
                "location | mistake",
                "right after backtracking from GOLD",
                "from a RANDOM step (control)",
            ],
            rows,
            "Backtracking from the gold location uses the labels (ground truth: an upper "
            "bound for correction given a perfect finder); the random step is the paper's "
            "control. Tyen et al. 2023 report per-model accuracies for the three prompting "
            "styles (their Table 4); no single headline is quoted here.",
        )
    ]


STUDIES: dict[str, Study] = {
    "intrinsic-self-correction": Study(
        "intrinsic-self-correction",
        "Huang et al. 2023, Large Language Models Cannot Self-Correct Reasoning Yet",
        "GSM8K: answer, self-review, revise, two rounds; no oracle (oracle-stopped beside it)",
        default_limit=10,
        arms=_self_correction_arms,
        summarize=_self_correction_summary,
        references=HUANG,
    ),
    "self-repair": Study(
        "self-repair",
        "Olausson et al. 2024, Is Self-Repair a Silver Bullet for Code Generation?",
        "HumanEval: one pool of programs and repairs, every (n_p, n_fr) cell at its token cost",
        default_limit=4,
        arms=_self_repair_arms,
        summarize=_self_repair_summary,
        plot=_self_repair_plot,
    ),
    "mistake-finding": Study(
        "mistake-finding",
        "Tyen et al. 2023, LLMs cannot find reasoning errors, but can correct them",
        "BIG-Bench Mistake, five tasks: find the first wrong step; backtrack gold vs random",
        default_limit=4,
        arms=_mistake_arms,
        summarize=_mistake_summary,
    ),
    "compute": COMPUTE,
    "feedback": FEEDBACK,
    "browsing": BROWSING,
}
"""The named studies (``looplab study NAME``)."""


CALIBRATION = (
    "Kadavath et al. 2022",
    "the model answers; verbal, P(True), P(True) with samples, answer log-probability and "
    "self-consistency score its answers; AUROC, risk-coverage and ECE per source",
)
"""The calibration study's paper and protocol (it scores answers; it has no arms)."""


def study_catalog() -> dict[str, tuple[str, str]]:
    """Every study by name -> (paper, protocol): ``looplab study``'s help, its list and
    its unknown-study error are made from this."""
    return {
        **{name: (s.paper, s.about) for name, s in STUDIES.items()},
        "calibration": CALIBRATION,
        "verifier": VERIFIER_STUDY,
    }


def study_arms(study: Study, options: StudyOptions) -> dict[str, EvalConfig]:
    """The arms' configs, the study's default task limit filled in."""
    if options.limit is None:
        options.limit = study.default_limit
    return study.arms(options)


def summary_json(study: Study, tables: list[Table], runs: dict[str, Any]) -> dict[str, Any]:
    """study.json: the study's tables, references and the runs behind them."""
    return {
        "study": study.name,
        "paper": study.paper,
        "runs": runs,
        "tables": [t.__dict__ for t in tables],
        "references": [r.__dict__ for r in study.references],
    }


def _arm_folder(root: Path, arm: str, shown: str | None) -> Path:
    """The arm's folder: its slug, or the folder a study made before 0.2 named by the
    arm's shown name (``critic + calculator``) when that one holds the run."""
    from looplab.runs import MANIFEST

    if shown and not (root / arm).exists() and (root / shown / MANIFEST).is_file():
        return root / shown
    return root / arm


def run_study(
    name: str,
    options: StudyOptions,
    study_dir: str | Path,
    *,
    run_arm: Callable[[str, EvalConfig | None, Path, bool, dict[str, str]], None] | None = None,
    command: str | None = None,
) -> tuple[Study, list[Table], Path]:
    """Run (or resume) every arm of a study into ``study_dir``; summarize and save study.json.

    ``run_arm(arm, config, run_dir, resume, labels)`` runs one arm (the CLI shows
    progress); by default ``run_eval``. ``labels`` (study, arm, shown name) go into the
    arm's manifest, so that its own report names its study; ``command`` (the study
    command as given) too, so that an unfinished arm's report says what finishes it.
    """
    import json

    from looplab.runs import MANIFEST, check_run_config, read_results, run_eval
    from looplab.tasks import load_tasks

    if name not in STUDIES:
        raise EvalError(f"unknown study {name!r}: use one of {', '.join(study_catalog())}")
    study = STUDIES[name]
    arms = study_arms(study, options)
    for config in arms.values():  # a bad option is an error before any folder is made
        check_run_config(config)
    load_tasks(next(iter(arms.values())).tasks, limit=1)
    root = make_dir(study_dir)
    results: dict[str, list[TaskResult]] = {}
    folders: dict[str, Path] = {}
    for arm, config in arms.items():
        target = folders[arm] = _arm_folder(root, arm, study.labels.get(arm))
        resume = (target / MANIFEST).is_file()
        labels = {"study": study.name, "arm": arm, "shown": study.labels.get(arm, arm)}
        if command:
            labels["command"] = command
        if run_arm is not None:
            run_arm(arm, None if resume else config, target, resume, labels)
        else:
            run_eval(None if resume else config, target, resume=resume, labels=labels)
        results[arm] = read_results(target)
    tables = study.summarize(results, options)
    summary = summary_json(study, tables, {arm: str(path) for arm, path in folders.items()})
    if study.plot is not None:
        summary["figures"] = [str(p) for p in study.plot(results, options, root)]
    write_file(root / "study.json", json.dumps(summary, indent=2))
    return study, tables, root
