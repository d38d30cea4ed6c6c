"""report.html: one self-contained page with the summary, the plots and every trajectory."""

from __future__ import annotations

from html import escape
from pathlib import Path

from looplab.evals._metrics import FLIPS, RunMetrics
from looplab.evals._report import _FLIP_NAMES, _pct
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


def _propagation_html(m: RunMetrics) -> str:
    """The error-propagation section (empty when there is nothing to show)."""
    parts = []
    if m.perturbations or m.propagation or m.forked_at is not None:
        what = [f"{escape(kind)} ×{n}" for kind, n in m.perturbations.items()]
        if m.propagation:
            what.append(f"{m.propagation.faults_injected} injected tool faults")
        if m.forked_at is not None:
            what.append(f"a fork: iterations before {m.forked_at} are the parent's")
        parts.append(f'<p class="oracle">PERTURBED: {" · ".join(what)}</p>')
    rows = m.errors_by_iteration
    faulted = m.propagation is not None
    if len(rows) > 1 or faulted:
        heads = ["iteration", "loops", "wrong", "introduced", "removed", "kept", "changed"]
        if faulted:
            heads += ["faulted", "faulted+wrong", "flagged"]
        body = ""
        for row in rows:
            cells = [row.iteration, row.loops, row.wrong]
            cells += (
                ["", "", "", ""]
                if row.iteration == 0
                else [row.introduced, row.removed, row.kept, row.changed]
            )
            if faulted:
                cells += [row.faulted, row.faulted_wrong, row.flagged]
            body += "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        parts.append(
            "<h2>error propagation</h2><table><tr>"
            + "".join(f"<th>{h}</th>" for h in heads)
            + f"</tr>{body}</table><p class='muted'>introduced: right→wrong · removed: "
            "wrong→right · kept: the same wrong answer again · changed: another wrong answer"
            "</p>"
        )
    p = m.propagation
    if p is not None:
        modes = ", ".join(f"{escape(k)} {n}" for k, n in p.faults_by_mode.items())
        parts.append(
            f"<p><b>injected tool faults</b>: {p.faults_injected} ({modes}) in "
            f"{p.faulted_attempts} attempts<br>wrong when a fault was injected "
            f"{_pct(p.wrong_when_faulted)} · wrong with clean tool results "
            f"{_pct(p.wrong_when_clean)}<br>answer states the corrupted value "
            f"{_pct(p.in_answer)} · reached the final answer {_pct(p.reached_final)}<br>"
            f"critic flagged faulted wrong answers {_pct(p.flagged)} (clean wrong answers "
            f"{_pct(p.flagged_clean)}) · a repair made it right {_pct(p.removed)}</p>"
        )
    k = m.mistakes
    if k is not None:
        parts.append(
            f"<h2>mistake finding</h2><p>{k.traces} traces, {k.with_mistake} with a mistake, "
            f"{k.unparsed} unparsed · location: <b>{escape(k.location_source)}</b><br>"
            f"exact location {_pct(k.exact)} · has-a-mistake {_pct(k.binary)} · location "
            f"among traces with a mistake {_pct(k.location_given_mistake)}<br>backtracking: "
            f"right after regenerating {_pct(k.repaired)} (location right "
            f"{_pct(k.repaired_when_located)}, location wrong "
            f"{_pct(k.repaired_when_mislocated)}) · right drafts broken {_pct(k.broken)}</p>"
        )
    if m.mistakes_by_task:
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{t.traces}</td><td>{_pct(t.exact)}</td>"
            f"<td>{_pct(t.binary)}</td><td>{_pct(t.location_given_mistake)}</td>"
            f"<td>{_pct(t.repaired)}</td></tr>"
            for name, t in m.mistakes_by_task.items()
        )
        parts.append(
            "<table><tr><th>task</th><th>traces</th><th>exact location</th><th>has a mistake"
            "</th><th>location | mistake</th><th>right after backtracking</th></tr>"
            f"{rows}</table>"
        )
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
