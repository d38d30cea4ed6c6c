"""Two studies of equal cost and of where feedback comes from.

- ``compute``: repair, voting, best-of-n, debate and search on one token axis (Huang et
  al. 2023: self-correction against self-consistency at equal responses; Olausson et
  al. 2024: compare at equal tokens). Each method runs at several compute levels;
  accuracy is plotted against the mean tokens per task it really spent (every role:
  generator, critic, verifier), and each arm is compared, paired by task, with the
  self-consistency arm nearest in tokens -- so no method wins by spending more without
  the table showing it.
- ``feedback``: one loop, the feedback between attempts from different sources --
  the model's own critique (intrinsic), a separate critic model, a model critic that
  verifies with the calculator (CRITIC, Gou et al. 2024), the calculator itself
  recomputing the answer's steps (feedback from a tool, no judge), the task's visible
  tests (code), and ground truth (oracle, an upper bound, marked). Repair and damage
  rates, the checker's recall of wrong answers, final accuracy, and each source paired
  against intrinsic.
"""

from __future__ import annotations

import math
from pathlib import Path

from looplab.metrics import Estimate, bootstrap_sums, compare_results, compute_metrics, ratio
from looplab.records import TaskResult
from looplab.report import Table, pct
from looplab.runs import EvalConfig
from looplab.studies._types import Study, StudyOptions

__all__ = ["COMPUTE", "FEEDBACK", "arm_tokens", "flag_recall", "matched_baseline"]

DEFAULT_TASKS = "arithmetic"
MATCHED = (0.8, 1.25)
"""Token ratios within which two arms count as run at the same budget."""
_DEBATE_AGENTS = 3


def _common(o: StudyOptions) -> dict:
    return dict(
        tasks=o.tasks or DEFAULT_TASKS, limit=o.limit, model=o.model,
        critic_model=o.critic_model, max_tokens=160, concurrency=o.concurrency, seed=o.seed,
    )  # fmt: skip


# -- compute: methods at equal tokens ---------------------------------------------------


def _compute_arms(o: StudyOptions) -> dict[str, EvalConfig]:
    common, t = _common(o), o.temperature
    arms = {"single": EvalConfig(**common, graph="self_consistency", max_iters=1)}
    debates: set[int] = set()
    for k in sorted(set(o.budgets)):
        arms[f"self_consistency@{k}"] = EvalConfig(
            **common, graph="self_consistency", max_iters=k, temperature=t
        )
        arms[f"best_of_n@{k}"] = EvalConfig(**common, graph="best_of_n", max_iters=k, temperature=t)
        arms[f"self_refine@{k}"] = EvalConfig(**common, graph="self_refine", max_iters=k)
        arms[f"tool_critic@{k}"] = EvalConfig(**common, graph="tool_critic", max_iters=k)
        rounds = max(2, k // _DEBATE_AGENTS)
        if rounds not in debates:  # Du et al.: three agents, at least two rounds
            debates.add(rounds)
            arms[f"debate@{_DEBATE_AGENTS * rounds}"] = EvalConfig(
                **common, graph="debate", width=_DEBATE_AGENTS, max_iters=rounds, temperature=t
            )
        arms[f"tree_search@{k}"] = EvalConfig(
            **common, graph="tree_search", max_iters=k, width=2, temperature=t
        )
    return arms


def arm_tokens(results: list[TaskResult]) -> tuple[Estimate, dict[str, float]]:
    """Mean tokens per result (every role, failed tasks' partial work excluded) with a
    bootstrap CI over tasks, and the mean per role (generator, critic)."""
    ok = _in_task_order(results)
    totals = [float(r.trajectory.usage.total_tokens) for r in ok]
    estimate = bootstrap_sums({"tokens": ratio(totals, [1.0] * len(ok))}, len(ok))["tokens"]
    n = max(1, len(ok))
    roles = {
        "generator": sum(a.usage.total_tokens for r in ok for a in r.trajectory.attempts) / n,
        "critic": sum(c.usage.total_tokens for r in ok for c in r.trajectory.critiques) / n,
    }
    return estimate, roles


def _in_task_order(results: list[TaskResult]) -> list[TaskResult]:
    """The finished results sorted by task: intervals that do not depend on the order
    in which results arrived."""
    ok = [r for r in results if r.trajectory is not None]
    return sorted(ok, key=lambda r: (r.task_id, r.sample))


def _method(arm: str) -> str:
    return arm.split("@", 1)[0]


def _baselines(arms: dict[str, list[TaskResult]]) -> dict[str, float]:
    """The voting arms (single sample included) by mean tokens: the yardstick."""
    return {
        arm: arm_tokens(results)[0].value or 0.0
        for arm, results in arms.items()
        if arm == "single" or _method(arm) == "self_consistency"
    }


def matched_baseline(tokens: float, baselines: dict[str, float]) -> tuple[str, float]:
    """The baseline arm nearest in tokens (by ratio) and the ratio tokens / its tokens."""
    arm = min(baselines, key=lambda a: abs(_log_ratio(tokens, baselines[a])))
    return arm, tokens / baselines[arm] if baselines[arm] else float("inf")


def _log_ratio(a: float, b: float) -> float:
    return math.log((a + 1.0) / (b + 1.0))


def _compute_summary(arms: dict[str, list[TaskResult]], o: StudyOptions) -> list[Table]:
    rows = []
    for arm, results in arms.items():
        m = compute_metrics(results)
        tokens, roles = arm_tokens(results)
        rows.append([
            arm, pct(m.final_accuracy), _tokens(tokens), f"{roles['generator']:,.0f}",
            f"{roles['critic']:,.0f}", str(m.tasks),
        ])  # fmt: skip
    baselines = _baselines(arms)
    pairs: list[list[str]] = []
    differing: list[str] = []
    for arm, results in arms.items():
        if arm in baselines:
            continue
        tokens = arm_tokens(results)[0].value or 0.0
        base, token_ratio = matched_baseline(tokens, baselines)
        c = compare_results(arms[base], results)
        matched = MATCHED[0] <= token_ratio <= MATCHED[1]
        if matched and _excludes_zero(c.difference):
            differing.append(f"{arm} ({_signed(c.difference)} vs {base})")
        pairs.append([
            arm, base, f"{token_ratio:.2f}×" + ("" if matched else " (NOT matched)"),
            _signed(c.difference), f"{c.p_value:.3f}", f"{c.only_b} / {c.only_a}",
        ])  # fmt: skip
    return [
        Table(
            "accuracy against tokens (every role's tokens, per task)",
            ["arm", "accuracy", "mean tokens/task", "generator", "critic", "tasks"],
            rows,
            "@k: the method's compute level in answers per task (samples, attempts, search "
            "nodes; debate@6 is 3 agents × 2 rounds). Loops that stop early spend less than "
            "k; the token columns say what each really spent.",
        ),
        Table(
            "each method against voting at the nearest budget (paired by task)",
            ["arm", "vs", "token ratio", "accuracy difference", "McNemar p",
             "only arm right / only vs right"],
            pairs,
            "The difference is arm minus the self-consistency arm (or the single sample) "
            "nearest in mean tokens, with a paired bootstrap 95% CI; a ratio outside "
            f"{MATCHED[0]}–{MATCHED[1]} means no voting arm spent as much, and the "
            "comparison is not at equal cost (Huang et al. 2023; Olausson et al. 2024). "
            + (
                "At matched cost the CI excludes 0 for: " + "; ".join(differing) + "."
                if differing
                else "At matched cost no method's accuracy differs from voting's at 95% "
                "confidence on these tasks."
            ),
        ),
    ]  # fmt: skip


def _excludes_zero(e: Estimate) -> bool:
    return e.low is not None and e.high is not None and (e.low > 0 or e.high < 0)


def _interval(e: Estimate, spec: str) -> str:
    """``e`` formatted by ``spec``, its CI in brackets when it has one."""
    if e.value is None:
        return "n/a"
    if e.low is None or e.high is None:
        return format(e.value, spec)
    return f"{e.value:{spec}} [{e.low:{spec}}, {e.high:{spec}}]"


def _tokens(e: Estimate) -> str:
    return _interval(e, ",.0f")


def _signed(e: Estimate) -> str:
    return _interval(e, "+.1%")


def _plot_setup():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _error_bars(values: list[float], estimates: list[Estimate]) -> list[list[float]]:
    """matplotlib's [below, above] distances from each value to its CI's ends."""
    below = [
        v - (e.low if e.low is not None else v) for v, e in zip(values, estimates, strict=True)
    ]
    above = [
        (e.high if e.high is not None else v) - v for v, e in zip(values, estimates, strict=True)
    ]
    return [below, above]


def _save(fig, root: Path, name: str) -> list[Path]:
    paths = [root / f"{name}.png", root / f"{name}.svg"]
    for path in paths:
        fig.savefig(path, dpi=120)
    return paths


def _compute_plot(arms: dict[str, list[TaskResult]], o: StudyOptions, root: Path) -> list[Path]:
    """Accuracy against mean tokens per task: one curve per method, 95% CIs both ways."""
    plt = _plot_setup()
    points: dict[str, list[tuple[Estimate, Estimate]]] = {}
    for arm, results in arms.items():
        method = "self_consistency" if arm == "single" else _method(arm)
        points.setdefault(method, []).append(
            (arm_tokens(results)[0], compute_metrics(results).final_accuracy)
        )
    fig, ax = plt.subplots(figsize=(6.2, 4.0))
    for method, found in sorted(points.items()):
        found.sort(key=lambda p: p[0].value or 0.0)
        xs = [t.value or 0.0 for t, _ in found]
        ys = [a.value or 0.0 for _, a in found]
        xerr = _error_bars(xs, [t for t, _ in found])
        yerr = _error_bars(ys, [a for _, a in found])
        ax.errorbar(xs, ys, xerr=xerr, yerr=yerr, marker="o", capsize=3, label=method,
                    linestyle="--" if method == "self_consistency" else "-")  # fmt: skip
    ax.set_xlabel("mean tokens per task (every role)")
    ax.set_ylabel("accuracy (95% CI)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("accuracy against compute")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = _save(fig, root, "compute")
    plt.close(fig)
    return paths


# -- feedback: where the feedback comes from -------------------------------------------


def _is_code(spec: str) -> bool:
    return spec.split(":", 1)[0] in ("code", "humaneval")


def _feedback_arms(o: StudyOptions) -> dict[str, EvalConfig]:
    common = _common(o)
    spec = common["tasks"]
    arms = {"intrinsic": EvalConfig(**common, graph="self_refine", max_iters=3)}
    if o.critic_model and o.critic_model != o.model:
        arms["critic model"] = EvalConfig(**common, graph="critic_loop", max_iters=3)
    if _is_code(spec):
        arms["visible tests"] = EvalConfig(**common, graph="test_repair", max_iters=3)
    else:
        arms["critic + calculator"] = EvalConfig(**common, graph="tool_critic", max_iters=3)
        arms["calculator checks"] = EvalConfig(**common, graph="calc_check", max_iters=3)
    arms["ORACLE (upper bound)"] = EvalConfig(
        **common, graph="critic_loop", max_iters=3, feedback="oracle"
    )
    return arms


def _feedback_summary(arms: dict[str, list[TaskResult]], o: StudyOptions) -> list[Table]:
    rows, pairs, differing = [], [], []
    for arm, results in arms.items():
        m = compute_metrics(results)
        recall = flag_recall(results)
        tokens, _ = arm_tokens(results)
        rows.append([
            arm, pct(m.accuracy[0] if m.accuracy else None), pct(m.final_accuracy),
            pct(m.repair_rate), pct(m.damage_rate),
            pct(recall) if recall is not None else "n/a (ground truth)", _tokens(tokens),
        ])  # fmt: skip
        if arm != "intrinsic":
            c = compare_results(arms["intrinsic"], results)
            pairs.append([arm, _signed(c.difference), f"{c.p_value:.3f}",
                          f"{c.only_b} / {c.only_a}"])  # fmt: skip
            if _excludes_zero(c.difference):
                differing.append(f"{arm} ({_signed(c.difference)})")
    notes = [
        "Repair rate: wrong first answers made right; damage rate: right ones made wrong; "
        "recall: wrong attempts the checker (critic, calculator or tests) called incorrect. "
        "The oracle arm's feedback is "
        "ground truth's verdict: an upper bound, not self-correction (Huang et al. 2023).",
    ]
    if "critic model" not in arms:
        notes.append("No separate critic model was given (--critic-model): that arm is left out.")
    return [
        Table(
            "where the feedback comes from",
            ["feedback", "first answer", "final", "repair rate", "damage rate",
             "checker recall of wrong", "mean tokens/task"],
            rows,
            " ".join(notes),
        ),
        Table(
            "final accuracy against intrinsic self-critique (paired by task)",
            ["feedback", "difference", "McNemar p", "only it right / only intrinsic right"],
            pairs,
            "Paired bootstrap 95% CI of the difference in final accuracy. "
            + (
                "Its CI excludes 0 for: " + "; ".join(differing) + "."
                if differing
                else f"No source's final accuracy differs from intrinsic self-critique's at "
                f"95% confidence on these {len(arms['intrinsic'])} tasks."
            ),
        ),
    ]  # fmt: skip


def flag_recall(results: list[TaskResult]) -> Estimate | None:
    """The share of wrong attempts that the loop's checker -- critic model, tool or
    tests, whichever judged -- called incorrect, with a bootstrap CI over tasks; None
    when only ground truth judged (the oracle)."""
    flagged, judged = [], []
    for r in _in_task_order(results):
        verdicts = {
            c.iteration: c.verdict
            for c in r.trajectory.critiques
            if c.source in ("model", "tool", "tests")
        }
        wrong = [i for i, right in enumerate(r.grades) if not right and i in verdicts]
        flagged.append(float(sum(verdicts[i] == "incorrect" for i in wrong)))
        judged.append(float(len(wrong)))
    if not any(judged) and not any(
        c.source in ("model", "tool", "tests")
        for r in results
        if r.trajectory is not None
        for c in r.trajectory.critiques
    ):
        return None
    return bootstrap_sums({"recall": ratio(flagged, judged)}, len(flagged))["recall"]


def _feedback_plot(arms: dict[str, list[TaskResult]], o: StudyOptions, root: Path) -> list[Path]:
    """Final accuracy, repair rate and the checker's recall of wrong answers per
    feedback source, with 95% CIs (no recall bar where ground truth judged)."""
    plt = _plot_setup()
    names = list(arms)
    metrics = [compute_metrics(arms[n]) for n in names]
    recalls = [flag_recall(arms[n]) for n in names]
    fig, ax = plt.subplots(figsize=(6.6, 3.8))
    width = 0.27
    bars = (
        ("final accuracy", [m.final_accuracy for m in metrics]),
        ("repair rate", [m.repair_rate for m in metrics]),
        ("checker recall of wrong", recalls),
    )
    for k, (label, found) in enumerate(bars):
        shown = [(i, e) for i, e in enumerate(found) if e is not None]
        ys = [e.value or 0.0 for _, e in shown]
        xs = [i + (k - 1) * width for i, _ in shown]
        yerr = _error_bars(ys, [e for _, e in shown])
        ax.bar(xs, ys, width, yerr=yerr, capsize=3, label=label)
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share (95% CI)")
    ax.set_title("where the feedback comes from")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = _save(fig, root, "feedback")
    plt.close(fig)
    return paths


COMPUTE = Study(
    "compute",
    "Huang et al. 2023 (self-correction vs self-consistency); Olausson et al. 2024 (equal tokens)",
    "one task set; single sample, self-consistency, best-of-n, self-refine, tool critic, "
    "debate and tree search at several compute levels; accuracy against tokens",
    default_limit=10,
    arms=_compute_arms,
    summarize=_compute_summary,
    plot=_compute_plot,
)
"""Methods at several compute levels on one token axis, each paired with the voting arm nearest in
tokens."""

FEEDBACK = Study(
    "feedback",
    "Huang et al. 2023; CRITIC (Gou et al. 2024)",
    "one loop, feedback from: itself, a critic model, a critic with the calculator, "
    "visible tests (code), the oracle (upper bound); repair, damage, recall, accuracy",
    default_limit=20,
    arms=_feedback_arms,
    summarize=_feedback_summary,
    plot=_feedback_plot,
)
"""One loop with feedback from itself, a critic model, a critic with the calculator, the calculator,
visible tests or the oracle."""
