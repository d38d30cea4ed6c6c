"""report.html: one self-contained page with the summary, the plots and every trajectory."""

from __future__ import annotations

from html import escape
from pathlib import Path

from looplab.evals._metrics import FLIPS, RunMetrics
from looplab.evals._report import (
    _FLIP_NAMES,
    FLIP_KINDS_NOTE,
    Section,
    _pct,
    errors_table,
    fault_lines,
    mistake_lines,
    mistakes_by_task_table,
    perturbed_summary,
)
from looplab.evals._store import TaskResult
from looplab.records import Task

__all__ = ["write_html"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{margin-bottom:.2em} table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left} th{background:#f3f3f3}
.oracle{background:#fdd;border:2px solid #c00;padding:.6em;font-weight:bold}
.plots{display:flex;flex-wrap:wrap;gap:8px} .plots svg{width:360px;height:auto}
details{border:1px solid #ddd;margin:4px 0;padding:4px 8px;border-radius:4px}
summary{cursor:pointer} pre{white-space:pre-wrap;background:#f8f8f8;padding:6px;margin:4px 0}
.ok{color:#1a7f1a;font-weight:bold} .bad{color:#c00;font-weight:bold} .muted{color:#777}
#filters{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #ddd}
"""

_SCRIPT = """
function applyFilters(){
  const kind=document.getElementById('kind').value;
  const text=document.getElementById('search').value.toLowerCase();
  let shown=0;
  for(const row of document.querySelectorAll('details.trajectory')){
    const okKind = kind==='all' || row.dataset.tags.split(' ').includes(kind);
    const okText = !text || row.textContent.toLowerCase().includes(text);
    row.style.display = okKind && okText ? '' : 'none';
    if(okKind && okText) shown++;
  }
  document.getElementById('shown').textContent = shown;
}
"""


def _mark(ok: bool) -> str:
    return '<span class="ok">✓ right</span>' if ok else '<span class="bad">✗ wrong</span>'


def _trajectory(result: TaskResult, task: Task | None) -> str:
    t = result.trajectory
    if t is None:
        return (
            f'<details class="trajectory" data-tags="error"><summary>{escape(result.task_id)}'
            f' <span class="bad">error</span></summary><pre>{escape(result.error or "")}'
            "</pre></details>"
        )
    first = result.grades[0] if result.grades else False
    flip = ("c" if first else "w") + ("c" if result.final_correct else "w")
    tags = ["right" if result.final_correct else "wrong", flip]
    parts = [f"<p><b>prompt</b></p><pre>{escape(task.prompt if task else '')}</pre>"]
    if task is not None and task.answer is not None:
        parts.append(
            f"<p class='muted'>reference answer (never shown to the loop): "
            f"{escape(task.answer)}</p>"
        )
    critiques = {}
    for c in t.critiques:
        critiques.setdefault(c.iteration, []).append(c)
    for i, attempt in enumerate(t.attempts):
        ok = result.grades[i] if i < len(result.grades) else False
        chosen = " (chosen)" if t.chosen == i else ""
        parts.append(
            f"<h4>attempt {i} · {attempt.kind}{chosen} · answer "
            f"<code>{escape(str(attempt.answer))}</code> {_mark(ok)} · "
            f"{attempt.usage.total_tokens} tokens</h4><pre>{escape(attempt.text)}</pre>"
        )
        for call in attempt.tool_calls:
            result_text = call.output if call.ok else f"{call.problem}: {call.error}"
            fault = (
                f' <span class="bad">⚡ injected fault {escape(call.fault)} (real result: '
                f"<code>{escape(str(call.true_output))}</code>)</span>"
                if call.fault
                else ""
            )
            parts.append(
                f"<div>⚙ <code>{escape(call.tool)}({escape(call.input)})</code> → "
                f"<code>{escape(str(result_text))}</code>{fault}</div>"
            )
        for c in critiques.get(i, []):
            verdict = c.verdict or "unparsed"
            confidence = "" if c.confidence is None else f" ({c.confidence:.2f})"
            perturbed = (
                f' <span class="bad">perturbed: {escape(c.perturbation)}</span>'
                if c.perturbation
                else ""
            )
            location = f" · first wrong step: {c.mistake_step}" if c.mistake_step else ""
            parts.append(
                f"<p><b>{escape(c.source)} verdict:</b> {escape(verdict)}{confidence}"
                f"{location}{perturbed}</p><pre>{escape(c.feedback or c.raw)}</pre>"
            )
            for call in c.tool_calls:
                result_text = call.output if call.ok else f"{call.problem}: {call.error}"
                parts.append(
                    f"<div>critic ⚙ <code>{escape(call.tool)}({escape(call.input)})"
                    f"</code> → <code>{escape(str(result_text))}</code></div>"
                )
    label = f"{escape(result.task_id)}#{result.sample}"
    summary = (
        f"{label} · {_mark(result.final_correct)} · {_FLIP_NAMES[flip]} · "
        f"{len(t.attempts)} attempt(s) · stop: {escape(t.stop_reason)}"
    )
    return (
        f'<details class="trajectory" data-tags="{" ".join(tags)}"><summary>{summary}'
        f"</summary>{''.join(parts)}</details>"
    )


def _table_html(section: Section | None) -> str:
    if section is None:
        return ""
    columns, rows = section
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _propagation_html(m: RunMetrics) -> str:
    """The error-propagation section (empty when there is nothing to show)."""
    parts = []
    perturbed = perturbed_summary(m)
    if perturbed:
        parts.append(f'<p class="oracle">PERTURBED: {escape(perturbed)}</p>')
    errors = errors_table(m)
    if errors is not None:
        parts.append(
            f"<h2>error propagation</h2>{_table_html(errors)}"
            f"<p class='muted'>{escape(FLIP_KINDS_NOTE)}</p>"
        )
    for heading, lines in (("", fault_lines(m)), ("<h2>mistake finding</h2>", mistake_lines(m))):
        if lines:
            parts.append(heading + "<p>" + "<br>".join(escape(line) for line in lines) + "</p>")
    parts.append(_table_html(mistakes_by_task_table(m)))
    return "".join(parts)


def write_html(
    metrics: RunMetrics,
    results: list[TaskResult],
    tasks: dict[str, Task],
    svgs: dict[str, str],
    path: str | Path,
    *,
    title: str,
) -> Path:
    m = metrics
    rows = "".join(f"<tr><td>{i}</td><td>{_pct(e)}</td></tr>" for i, e in enumerate(m.accuracy))
    flips = "".join(
        f"<tr><td>{i} → {i + 1}</td>" + "".join(f"<td>{c[k]}</td>" for k in FLIPS) + "</tr>"
        for i, c in enumerate(m.flips)
    )
    flips += (
        "<tr><th>first → final</th>"
        + "".join(f"<td>{m.first_to_final[k]}</td>" for k in FLIPS)
        + "</tr>"
    )
    c = m.critic
    critic = "".join(
        f"<tr><td>{v}</td><td>{r['correct']}</td><td>{r['incorrect']}</td></tr>"
        for v, r in c.confusion.items()
    )
    oracle = (
        (
            '<p class="oracle">ORACLE: ground truth stopped these loops. The numbers are an '
            "upper bound, not self-correction (Huang et al. 2023).</p>"
        )
        if m.oracle
        else ""
    )
    models = ", ".join(f"{escape(k)}: {escape(v)}" for k, v in m.models.items())
    trajectories = "".join(_trajectory(r, tasks.get(r.task_id)) for r in results)
    options = "".join(
        f'<option value="{v}">{label}</option>'
        for v, label in (
            ("all", "all"),
            ("right", "final right"),
            ("wrong", "final wrong"),
            ("wc", "repaired (wrong→right)"),
            ("cw", "broken (right→wrong)"),
            ("ww", "never right"),
            ("error", "errors"),
        )
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>looplab report</h1><p class="muted">{escape(title)}</p>{oracle}
<p>graph <b>{escape(m.graph)}</b> · {m.tasks} tasks × {m.samples} sample(s) · {m.results} results,
{m.errors} errors · {models}</p>
<p><b>final accuracy {_pct(m.final_accuracy)}</b> · repair rate {_pct(m.repair_rate)} ·
damage rate {_pct(m.damage_rate)} · tokens {m.total_tokens:,}
(per solved task: {f"{m.tokens_per_solved:,.0f}" if m.tokens_per_solved else "n/a"})</p>
<p class="muted">95% bootstrap confidence intervals over tasks in brackets.</p>
<div class="plots">{"".join(svgs.values())}</div>
<h2>accuracy per iteration</h2><table><tr><th>iteration</th><th>accuracy</th></tr>{rows}</table>
<h2>flips</h2><table><tr><th></th>{"".join(f"<th>{_FLIP_NAMES[k]}</th>" for k in FLIPS)}</tr>
{flips}</table>
{_propagation_html(m)}
<h2>the critic against ground truth</h2>
<table><tr><th>critic said</th><th>answer was right</th><th>answer was wrong</th></tr>{critic}
</table><p>{c.judged} judgements, {c.unparsed} unparsed · verdict accuracy
{_pct(c.verdict_accuracy)} · precision of "incorrect" {_pct(c.precision_incorrect)} · recall
{_pct(c.recall_incorrect)} · false alarms {_pct(c.false_alarm)} · Brier {c.brier} · ECE {c.ece}</p>
<h2>trajectories</h2>
<div id="filters"><select id="kind" onchange="applyFilters()">{options}</select>
<input id="search" placeholder="search text" oninput="applyFilters()">
<span><span id="shown">{len(results)}</span> shown</span></div>
{trajectories}
<script>{_SCRIPT}</script></body></html>"""
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path
