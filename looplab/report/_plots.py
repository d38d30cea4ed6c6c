"""Plots of a run, written as PNG and SVG: accuracy per iteration, flips, pass@t, the
critic's reliability diagram, error propagation."""

from __future__ import annotations

import io
from pathlib import Path

from looplab.files import make_dir, write_file
from looplab.metrics import RunMetrics

__all__ = ["save_figure", "write_plots"]


def _figures(m: RunMetrics) -> dict:
    import matplotlib

    matplotlib.use("Agg")

    # graph, arm and task names are text: "$x$" must not go to the math parser
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    figures = {}
    fig, ax = plt.subplots(figsize=(5, 3.2))
    xs = list(range(len(m.accuracy)))
    ys = [e.value or 0.0 for e in m.accuracy]
    low = [y - (e.low if e.low is not None else y) for y, e in zip(ys, m.accuracy, strict=True)]
    high = [(e.high if e.high is not None else y) - y for y, e in zip(ys, m.accuracy, strict=True)]
    ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=4)
    ax.set_xticks(xs)
    ax.set_ylim(0, 1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("accuracy (95% CI)")
    ax.set_title(f"{m.graph}: accuracy per iteration")
    figures["accuracy"] = fig

    fig, ax = plt.subplots(figsize=(5, 3.2))
    labels = [f"{i}→{i + 1}" for i in range(len(m.flips))] + ["first→final"]
    rows = [*m.flips, m.first_to_final]
    bottom = [0] * len(rows)
    for key, colour, name in (
        ("cc", "#7fbf7f", "right→right"),
        ("wc", "#2a9d2a", "wrong→RIGHT"),
        ("cw", "#d62728", "right→WRONG"),
        ("ww", "#bbbbbb", "wrong→wrong"),
    ):
        values = [row[key] for row in rows]
        ax.bar(labels, values, bottom=bottom, color=colour, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("tasks")
    ax.set_title("flips between iterations")
    ax.legend(fontsize=7)
    figures["flips"] = fig

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.step(m.budgets, m.pass_at_budget, where="post", marker=".")
    ax.set_ylim(0, 1)
    ax.set_xlabel("tokens per task (all roles)")
    ax.set_ylabel("solved")
    ax.set_title("pass@t: success against token budget")
    figures["pass_at_t"] = fig

    reliability = _reliability(plt, m)
    if reliability is not None:
        figures["reliability"] = reliability
        figures["risk_coverage"] = _risk_coverage(plt, m)

    rows = m.errors_by_iteration
    if len(rows) > 1 or m.propagation is not None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        xs = [row.iteration for row in rows]
        series = [
            ("wrong", "#bbbbbb", [row.wrong for row in rows]),
            ("introduced", "#d62728", [row.introduced for row in rows]),
            ("removed", "#2a9d2a", [row.removed for row in rows]),
            ("kept (same wrong answer)", "#8c564b", [row.kept for row in rows]),
        ]
        if m.propagation is not None:
            series += [
                ("faulted attempts", "#ff7f0e", [row.faulted for row in rows]),
                ("faulted, critic flagged", "#1f77b4", [row.flagged for row in rows]),
            ]
        width = 0.8 / len(series)
        for n, (name, colour, values) in enumerate(series):
            ax.bar(
                [x + n * width - 0.4 + width / 2 for x in xs],
                values,
                width,
                label=name,
                color=colour,
            )
        ax.set_xticks(xs)
        ax.set_xlabel("iteration")
        ax.set_ylabel("loops")
        ax.set_title("error propagation")
        ax.legend(fontsize=6)
        figures["propagation"] = fig
    return figures


def _reliability(plt, m: RunMetrics):
    """The reliability diagram of each confidence source the critiques carried: mean
    confidence against accuracy per bin, a dot's area its answers (None: no source)."""
    sources = {s: c for s, c in sorted(m.critic.by_source.items()) if c.n}
    if not sources:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([0, 1], [0, 1], linestyle=":", color="#888888", label="calibrated")
    for source, c in sources.items():
        bins = [b for b in c.bins if b.answers]
        xs, ys = [b.confidence for b in bins], [b.accuracy for b in bins]
        (line,) = ax.plot(xs, ys, label=source)
        ax.scatter(xs, ys, s=[12 + 60 * b.answers / c.n for b in bins], color=line.get_color())
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="P(right) the critique gave", ylabel="accuracy")
    ax.set_title("reliability: is the critic's confidence calibrated?")
    ax.legend(fontsize=7)
    return fig


def _risk_coverage(plt, m: RunMetrics):
    """Each confidence source's risk-coverage curve: the error rate among the answers it
    is most confident in, against the share of answers kept."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for source, c in sorted(m.critic.by_source.items()):
        if c.curve:
            coverage, risk = zip(*c.curve, strict=True)
            ax.plot(coverage, risk, marker=".", label=source)
    answered = [c for c in m.critic.by_source.values() if c.n]
    if answered:  # keeping every answer: the error rate of all judged answers
        c = answered[0]
        ax.axhline(1 - c.right / c.n, color="#888888", linestyle=":", label="keep all")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="coverage (answers kept)", ylabel="risk (error rate)")
    ax.set_title("risk-coverage of each confidence source")
    ax.legend(fontsize=7)
    return fig


def save_figure(fig, path: str | Path, *, dpi: int = 120) -> Path:
    """Save a matplotlib figure as the format its suffix names, through ``write_file``
    (never through a symlink)."""
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".") or "png", dpi=dpi)
    return write_file(path, buffer.getvalue())


def write_plots(metrics: RunMetrics, out_dir: str | Path) -> dict[str, str]:
    """Write every plot as PNG and SVG under ``out_dir``; return the SVG texts by name."""
    import matplotlib.pyplot as plt

    out = make_dir(out_dir)
    svgs = {}
    for name, fig in _figures(metrics).items():
        fig.tight_layout()
        save_figure(fig, out / f"{name}.png")
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
        svgs[name] = buffer.getvalue()
        write_file(out / f"{name}.svg", svgs[name])
        plt.close(fig)
    return svgs
