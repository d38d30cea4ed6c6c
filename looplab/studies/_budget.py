"""Two studies of equal cost and of where feedback comes from.

- ``compute``: repair, voting, best-of-n, debate, search, Reflexion and
  Chain-of-Verification (and, for code, self-generated tests) on one token axis (Huang et
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
  tests (code), the model's own tests (code), Reflexion's memory of reflections on the
  critic's verdicts (asked for by name), and ground truth (oracle, an upper bound,
  marked). Repair and damage
  rates, the checker's recall of wrong answers, final accuracy, and each source paired
  against intrinsic.
"""

from __future__ import annotations

import math
from pathlib import Path

from looplab.metrics import (
    BONETT_PRICE,
    Comparison,
    Estimate,
    TaskIndex,
    bootstrap_sums,
    compare_results,
    compute_metrics,
    holm,
    interval_name,
    mcnemar_exact,
    paired_difference_interval,
    ratio,
)
from looplab.records import TaskResult
from looplab.report import Table, pct, save_figure
from looplab.runs import EvalConfig
from looplab.studies._format import p_is as _p_is
from looplab.studies._format import p_value as _p
from looplab.studies._format import signed as _signed
from looplab.studies._format import tokens as _tokens
from looplab.studies._types import Study, StudyOptions

__all__ = [
    "COMPUTE",
    "FEEDBACK",
    "DEFAULT_FEEDBACK_ARMS",
    "FEEDBACK_ARMS",
    "FEEDBACK_ATTEMPTS",
    "arm_label",
    "arm_tokens",
    "feedback_arm_names",
    "first_verdicts",
    "first_to_final",
    "flag_recall",
    "matched_baseline",
]

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
    code = _is_code(common["tasks"])
    arms = {"single": EvalConfig(**common, graph="self_consistency", max_iters=1)}
    if not code:  # a draft and its revision, whatever the level: CoVe's cost is its own
        arms["chain_of_verification"] = EvalConfig(**common, graph="chain_of_verification")
    debates: set[int] = set()
    for k in sorted(set(o.budgets)):
        arms[f"self_consistency@{k}"] = EvalConfig(
            **common, graph="self_consistency", max_iters=k, temperature=t
        )
        arms[f"best_of_n@{k}"] = EvalConfig(**common, graph="best_of_n", max_iters=k, temperature=t)
        if o.verifier is not None:  # Cobbe et al.: samples ranked by a trained verifier
            arms[f"best_of_n+verifier@{k}"] = EvalConfig(
                **common, graph="best_of_n", max_iters=k, temperature=t,
                critic_confidence=f"learned:{o.verifier}",
            )  # fmt: skip
        arms[f"self_refine@{k}"] = EvalConfig(**common, graph="self_refine", max_iters=k)
        arms[f"tool_critic@{k}"] = EvalConfig(**common, graph="tool_critic", max_iters=k)
        rounds = max(2, k // _DEBATE_AGENTS)
        if rounds not in debates:  # Du et al.: three agents, at least two rounds
            debates.add(rounds)
            arms[f"debate@{_DEBATE_AGENTS * rounds}"] = EvalConfig(
                **common, graph="debate", width=_DEBATE_AGENTS, max_iters=rounds, temperature=t
            )
        arms[f"reflexion@{k}"] = EvalConfig(**common, graph="reflexion", max_iters=k)
        if code:
            arms[f"self_tests@{k}"] = EvalConfig(**common, graph="self_tests", max_iters=k)
        arms[f"tree_search@{k}"] = EvalConfig(
            **common, graph="tree_search", max_iters=k, width=2, temperature=t
        )
    return arms


def arm_tokens(results: list[TaskResult]) -> tuple[Estimate, dict[str, float]]:
    """Mean tokens per answered result (every role; a failed task's partial work has no
    record) with a bootstrap CI resampling tasks (a task's samples drawn together), and
    the mean per role (generator, critic). How many failed is the arm's ``failed``."""
    ok = _in_task_order(results)
    index = TaskIndex([r.task_id for r in ok])
    totals = index.per_task([float(r.trajectory.usage.total_tokens) for r in ok])
    answers = index.per_task([1.0] * len(ok))
    estimate = bootstrap_sums({"tokens": ratio(totals, answers)}, index.tasks)["tokens"]
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


def _baselines(tokens: dict[str, Estimate]) -> dict[str, float]:
    """The voting arms (single sample included) by mean tokens: the yardstick."""
    return {
        arm: estimate.value or 0.0
        for arm, estimate in tokens.items()
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
    spent = {arm: arm_tokens(results) for arm, results in arms.items()}  # bootstrapped once
    for arm, results in arms.items():
        m = compute_metrics(results)
        tokens, roles = spent[arm]
        rows.append([
            arm, pct(m.final_accuracy), _tokens(tokens), f"{roles['generator']:,.0f}",
            f"{roles['critic']:,.0f}", str(m.tasks),
        ])  # fmt: skip
    baselines = _baselines({arm: spent[arm][0] for arm in arms})
    compared: list[tuple[str, str, float, Comparison]] = []
    for arm, results in arms.items():
        if arm in baselines:
            continue
        tokens = spent[arm][0].value or 0.0
        base, token_ratio = matched_baseline(tokens, baselines)
        compared.append((arm, base, token_ratio, compare_results(arms[base], results)))
    matched = [MATCHED[0] <= ratio_ <= MATCHED[1] for _, _, ratio_, _ in compared]
    # Holm across the arms compared at matched cost: the family the verdict is drawn from
    adjusted = _adjusted([c for (*_, c), m in zip(compared, matched, strict=True) if m])
    pairs: list[list[str]] = []
    differing: list[str] = []
    for (arm, base, token_ratio, c), is_matched in zip(compared, matched, strict=True):
        p_holm = adjusted.pop(0) if is_matched else None
        if p_holm is not None and p_holm < ALPHA:
            differing.append(f"{arm} ({_signed(c.difference)} vs {base}, Holm p {_p_is(p_holm)})")
        pairs.append([
            arm, base, f"{token_ratio:.2f}×" + ("" if is_matched else " (NOT matched)"),
            _signed(c.difference), _p(c.p_value), _p(p_holm) if p_holm is not None else "—",
            f"{c.only_b} / {c.only_a}", _power(c), _failures(c),
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
            ["arm", "vs", "token ratio", "accuracy difference", "exact p", "Holm p",
             "tasks only arm / only vs better", "tasks for 80% power", "failed"],
            pairs,
            "The difference is arm minus the self-consistency arm (or the single sample) "
            "nearest in mean tokens, paired by task, with its 95% interval "
            f"({_interval_names(c for *_, c in compared)}); a ratio outside "
            f"{MATCHED[0]}–{MATCHED[1]} means no voting arm spent as much, and the "
            "comparison is not at equal cost (Huang et al. 2023; Olausson et al. 2024). "
            + _TEST_NOTE
            + (
                "At matched cost, differs from voting after Holm's correction: "
                + "; ".join(differing) + "."
                if differing
                else "At matched cost no method's accuracy differs from voting's after "
                "Holm's correction on these tasks."
            ),
        ),
    ]  # fmt: skip


ALPHA = 0.05
"""The familywise error rate of a study's verdicts."""

_TEST_NOTE = (
    "p: McNemar's exact test on the discordant tasks (a sign-flip permutation test when "
    "tasks hold several samples); Holm p: adjusted across the arms compared "
    "(Holm-Bonferroni), what 'differs' is decided by, at 5%. Tasks for 80% power: how "
    "many tasks a difference of the observed size needs at this discordance (Connor "
    "1987). "
)


def _adjusted(comparisons: list[Comparison]) -> list[float]:
    """Holm-adjusted p-values of a family of comparisons, in order."""
    return holm([c.p_value for c in comparisons]) if comparisons else []


def _power(c: Comparison) -> str:
    return f"{c.power_tasks:,}" if c.power_tasks is not None else "n/a (no difference)"


def _failures(c: Comparison) -> str:
    """Failed paired tasks per side, flagged when they differ (they count as wrong)."""
    text = f"{c.failed_b} / {c.failed_a}"
    return text + " (DIFFER)" if c.failures_differ else text


def _interval_names(comparisons) -> str:
    return ", ".join(sorted({interval_name(c.difference) for c in comparisons})) or "none"


def _plot_setup():
    import matplotlib

    matplotlib.use("Agg")

    # graph, arm and task names are text: "$x$" must not go to the math parser
    matplotlib.rcParams["text.parse_math"] = False
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
        save_figure(fig, path)
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
    return spec.split(":", 1)[0] in ("code", "humaneval", "mbpp")


FEEDBACK_ARMS: dict[str, str] = {
    "intrinsic": "intrinsic",
    "critic-model": "critic model",
    "visible-tests": "visible tests",
    "critic-calculator": "critic + calculator",
    "calculator-checks": "calculator checks",
    "calculator-edit": "calculator edit, continued",
    "reflexion": "Reflexion (critic + memory)",
    "self-tests": "own tests",
    "oracle": "ORACLE (upper bound)",
}
"""The feedback study's arms: folder name (a plain slug) -> the name its tables show.
The shown names were the folder names before 0.2; a study folder made then still opens."""
DEFAULT_FEEDBACK_ARMS = tuple(
    arm for arm in FEEDBACK_ARMS if arm not in ("critic-calculator", "reflexion")
)
"""The arms run unless --arms says otherwise (those that apply to the task set). The tool
critic, at ~4x the tokens of the others, and Reflexion (a reflection call per failed
trial) are asked for by name: ``--arms +critic-calculator,+reflexion``."""
FEEDBACK_ATTEMPTS = 2
"""The feedback study's attempts per task unless --max-iters says: the first and one repair."""


_CHECKERS = ("model", "tool", "tests", "self-tests")
"""Critique sources that judge an answer (not the oracle; not a reflection or CoVe's checks)."""


def feedback_arm_names(o: StudyOptions) -> tuple[str, ...]:
    """The arms asked for: ``--arms`` names them (``+ARM`` adds to the default set);
    an unknown name is one error listing them all."""
    from looplab.errors import ConfigError

    asked = o.arms or DEFAULT_FEEDBACK_ARMS
    added = all(a.startswith("+") for a in asked)
    names = tuple(a.lstrip("+") for a in asked)
    unknown = [a for a in names if a not in FEEDBACK_ARMS]
    if unknown:
        raise ConfigError(
            f"unknown feedback arm {unknown[0]!r}: use one of {', '.join(FEEDBACK_ARMS)}"
        )
    if added:
        names = (*DEFAULT_FEEDBACK_ARMS, *names)
    return tuple(a for a in FEEDBACK_ARMS if a in names)


def _feedback_arms(o: StudyOptions) -> dict[str, EvalConfig]:
    common = {**_common(o), "max_iters": o.max_iters or FEEDBACK_ATTEMPTS}
    code = _is_code(common["tasks"])
    possible = {
        "intrinsic": dict(graph="self_refine"),
        "critic-model": dict(graph="critic_loop")
        if o.critic_model not in (None, o.model)
        else None,
        "visible-tests": dict(graph="test_repair") if code else None,
        "critic-calculator": None if code else dict(graph="tool_critic"),
        "calculator-checks": None if code else dict(graph="calc_check"),
        # the same checker, its correction applied in place and the answer continued
        # from there: feedback a model too small to use words can still act on
        "calculator-edit": None if code else dict(graph="calc_check", repair_mode="continue"),
        # the same critic's verdict, but a verbal reflection kept in memory and a fresh
        # trial, not a repair that reads the critique (Shinn et al. 2023)
        "reflexion": dict(graph="reflexion"),
        "self-tests": dict(graph="self_tests") if code else None,
        "oracle": dict(graph="critic_loop", feedback="oracle"),
    }
    names = feedback_arm_names(o)
    if "intrinsic" not in names:
        names = ("intrinsic", *names)  # every arm is compared with it
    return {
        arm: EvalConfig(**common, **possible[arm]) for arm in names if possible[arm] is not None
    }


def arm_label(arm: str) -> str:
    """The name a study's tables show for the arm in folder ``arm``."""
    return FEEDBACK_ARMS.get(arm, arm)


def first_to_final(results: list[TaskResult]) -> tuple[Estimate, float] | None:
    """Final minus first accuracy within one arm, paired by task: the Bonett-Price
    interval and McNemar's exact p on the tasks repaired against those broken (a failed
    task wrong both times). None when a task has several samples (no such pairing)."""
    if len({r.task_id for r in results}) != len(results) or not results:
        return None
    first = [r.trajectory is not None and bool(r.grades) and r.grades[0] for r in results]
    final = [r.final_correct for r in results]
    repaired = sum(b and not a for a, b in zip(first, final, strict=True))
    broken = sum(a and not b for a, b in zip(first, final, strict=True))
    n = len(results)
    low, high = paired_difference_interval(broken, repaired, n)
    change = Estimate((repaired - broken) / n, low, high, n, method=BONETT_PRICE)
    return change, mcnemar_exact(repaired, broken)


def first_verdicts(results: list[TaskResult]) -> tuple[int, int, int] | None:
    """How the loop's checker (critic model, tool or tests) judged the first answers:
    (correct, incorrect, no verdict: unsure or unparsed); None when only ground truth
    judged. A checker that says one thing whatever it reads shows here."""
    counts = [0, 0, 0]
    judged = False
    for r in _in_task_order(results):
        for c in r.trajectory.critiques:
            if c.iteration == 0 and c.source in _CHECKERS:
                judged = True
                counts[{"correct": 0, "incorrect": 1}.get(c.verdict or "", 2)] += 1
    return (counts[0], counts[1], counts[2]) if judged else None


def _verdicts(results: list[TaskResult]) -> str:
    found = first_verdicts(results)
    return "n/a (ground truth)" if found is None else " / ".join(map(str, found))


def _change(results: list[TaskResult]) -> str:
    found = first_to_final(results)
    if found is None:
        return "n/a (several samples)"
    change, p = found
    return f"{_signed(change)}, p {_p_is(p)}"


def _feedback_summary(arms: dict[str, list[TaskResult]], o: StudyOptions) -> list[Table]:
    rows = []
    for arm, results in arms.items():
        m = compute_metrics(results)
        recall = flag_recall(results)
        tokens, _ = arm_tokens(results)
        rows.append([
            arm_label(arm), pct(m.first_accuracy), pct(m.final_accuracy), _change(results),
            pct(m.repair_rate), pct(m.damage_rate), _verdicts(results),
            pct(recall) if recall is not None else "n/a (ground truth)", _tokens(tokens),
            str(m.errors),
        ])  # fmt: skip
    others = [arm for arm in arms if arm != "intrinsic"]
    compared = [compare_results(arms["intrinsic"], arms[arm]) for arm in others]
    adjusted = _adjusted(compared)
    pairs, differing = [], []
    for arm, c, p_holm in zip(others, compared, adjusted, strict=True):
        pairs.append([arm_label(arm), _signed(c.difference), _p(c.p_value), _p(p_holm),
                      f"{c.only_b} / {c.only_a}", _power(c), _failures(c)])  # fmt: skip
        if p_holm < ALPHA:
            differing.append(f"{arm_label(arm)} ({_signed(c.difference)}, Holm p {_p_is(p_holm)})")
    notes = [
        "Final − first: the arm's change in accuracy, paired by task (Bonett-Price "
        "interval, McNemar's exact p). Called right / wrong / neither: the checker's "
        "verdicts on the first answers (neither: unsure, unparsed or nothing to check). "
        "Repair rate: wrong first answers made right; damage rate: right ones made wrong; "
        "recall: wrong attempts the checker (critic, calculator or tests) called incorrect. "
        "Accuracies count a failed task as wrong. The oracle arm's feedback is "
        "ground truth's verdict: an upper bound, not self-correction (Huang et al. 2023). "
        "Intervals: Clopper-Pearson for shares of tasks, the bootstrap over tasks for "
        "recall (a task's attempts drawn together) and tokens.",
    ]
    if "calculator-edit" in arms:
        notes.append(
            "Calculator edit: the calculator's correction of the first wrong step is put in "
            "place and the model continues its answer from there (Critique.correction; "
            "Tyen et al.'s backtracking with a tool's fix); calculator checks gives the same "
            "finding as words."
        )
    if "critic-model" not in arms:
        notes.append("No separate critic model was given (--critic-model): that arm is left out.")
    tasks = len({r.task_id for r in arms["intrinsic"]})
    return [
        Table(
            "where the feedback comes from",
            ["feedback", "first answer", "final", "final − first", "repair rate", "damage rate",
             "first answers called right / wrong / neither",
             "checker recall of wrong", "mean tokens/task", "failed"],
            rows,
            " ".join(notes),
        ),
        Table(
            "final accuracy against intrinsic self-critique (paired by task)",
            ["feedback", "difference", "exact p", "Holm p",
             "tasks only it / only intrinsic right", "tasks for 80% power", "failed"],
            pairs,
            f"The difference in final accuracy over {tasks} tasks with its 95% interval "
            f"({_interval_names(compared)}). " + _TEST_NOTE
            + (
                "Differs from intrinsic after Holm's correction: " + "; ".join(differing) + "."
                if differing
                else "No source's final accuracy differs from intrinsic self-critique's "
                f"after Holm's correction on these {tasks} tasks."
            ),
        ),
    ]  # fmt: skip


def flag_recall(results: list[TaskResult]) -> Estimate | None:
    """The share of wrong attempts that the loop's checker -- critic model, tool or
    tests, whichever judged -- called incorrect, with a bootstrap CI over tasks; None
    when only ground truth judged (the oracle)."""
    flagged, judged = [], []
    for r in _in_task_order(results):
        verdicts = {c.iteration: c.verdict for c in r.trajectory.critiques if c.source in _CHECKERS}
        wrong = [i for i, right in enumerate(r.grades) if not right and i in verdicts]
        flagged.append(float(sum(verdicts[i] == "incorrect" for i in wrong)))
        judged.append(float(len(wrong)))
    if not any(judged) and not any(
        c.source in _CHECKERS
        for r in results
        if r.trajectory is not None
        for c in r.trajectory.critiques
    ):
        return None
    index = TaskIndex([r.task_id for r in _in_task_order(results)])
    recall = ratio(index.per_task(flagged), index.per_task(judged), share=True)
    return bootstrap_sums({"recall": recall}, index.tasks)["recall"]


def _feedback_plot(arms: dict[str, list[TaskResult]], o: StudyOptions, root: Path) -> list[Path]:
    """Final accuracy, repair rate and the checker's recall of wrong answers per
    feedback source, with 95% CIs (no recall bar where ground truth judged)."""
    plt = _plot_setup()
    names = list(arms)
    metrics = [compute_metrics(arms[n]) for n in names]
    labels = [arm_label(n) for n in names]
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
    ax.set_xticks(range(len(names)), labels, fontsize=6)
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
    "debate, tree search, Reflexion and CoVe at several compute levels (best-of-n ranked "
    "by a learned verifier with --verifier FILE); accuracy against tokens",
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
    labels=FEEDBACK_ARMS,
)
"""One loop with feedback from itself, a critic model, a critic with the calculator, the calculator,
visible tests or the oracle."""
