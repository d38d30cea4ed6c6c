"""report.html: one self-contained page with the summary, the plots and every trajectory.

The summary and plots are plain HTML, first in the file. Trajectories are JSON
records, gzip-compressed in blocks of 500 and embedded base64; the page
decompresses only the blocks it shows (the browser's DecompressionStream),
fifty trajectories a page, and builds them with textContent, so nothing a
model wrote is ever parsed as HTML. Filters read a small index of tags;
search reads every block. A run of 100,000 results opens in seconds.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path

from looplab.files import write_file
from looplab.metrics import RunMetrics
from looplab.records import Task, TaskResult, ToolCall
from looplab.report._blocks import Block, Table
from looplab.report._model import FLIP_NAMES, run_report

__all__ = ["blocks_html", "write_html"]

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

_BLOCK = 500
"""Trajectories per compressed block: the first page needs one block decompressed."""

_SCRIPT = r"""
const PAGE = 50;
const blocks = [...document.querySelectorAll('script.block')];
const index = JSON.parse(document.getElementById('index').textContent);
const BLOCK = index.block, tags = index.tags;
const cache = new Map();
let matches = [], page = 0, query = 0;

async function block(b){
  if (cache.has(b)) return cache.get(b);
  const bytes = Uint8Array.from(atob(blocks[b].textContent), c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  const records = JSON.parse(await new Response(stream).text());
  if (cache.size >= 8) cache.delete(cache.keys().next().value);
  cache.set(b, records);
  return records;
}
async function record(i){ return JSON.parse((await block(Math.floor(i / BLOCK)))[i % BLOCK]); }

function el(tag, text, cls){
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function mark(ok){ return el('span', ok ? '✓ right' : '✗ wrong', ok ? 'ok' : 'bad'); }
function call(c, who){
  const d = el('div', `${who}⚙ `);
  d.append(el('code', `${c.tool}(${c.input})`), ' → ', el('code', c.out));
  const fault = `⚡ injected fault ${c.fault} (real result: ${c.true})`;
  if (c.fault) d.append(' ', el('span', fault, 'bad'));
  return d;
}
function render(r){
  const d = el('details', null, 'trajectory');
  const s = el('summary', `${r.id}#${r.sample} · `);
  if (r.error !== null){
    s.append(el('span', 'error', 'bad')); d.append(s, el('pre', r.error)); return d;
  }
  s.append(mark(r.right), ` · ${r.flip} · ${r.attempts.length} attempt(s) · stop: ${r.stop}`);
  d.append(s, el('p', 'prompt'), el('pre', r.prompt));
  if (r.reference !== null)
    d.append(el('p', `reference answer (never shown to the loop): ${r.reference}`, 'muted'));
  r.attempts.forEach((a, i) => {
    const h = el('h4', `attempt ${i} · ${a.kind}${r.chosen === i ? ' (chosen)' : ''} · answer `);
    h.append(el('code', a.answer), ' ', mark(a.right), ` · ${a.tokens} tokens`);
    d.append(h, el('pre', a.text));
    a.calls.forEach(c => d.append(call(c, '')));
    (r.critiques[i] || []).forEach(c => {
      const p = el('p');
      p.append(el('b', `${c.source} verdict:`), ` ${c.verdict}${c.confidence}${c.step}`);
      if (c.perturbation) p.append(' ', el('span', `perturbed: ${c.perturbation}`, 'bad'));
      d.append(p, el('pre', c.text));
      c.calls.forEach(x => d.append(call(x, 'critic ')));
    });
  });
  return d;
}
async function show(){
  const shown = matches.length, pages = Math.max(1, Math.ceil(shown / PAGE));
  page = Math.min(page, pages - 1);
  document.getElementById('shown').textContent = shown;
  document.getElementById('page').textContent = `page ${page + 1} of ${pages}`;
  const nodes = [];
  const wanted = matches.slice(page * PAGE, (page + 1) * PAGE);
  for (const i of wanted) nodes.push(render(await record(i)));
  document.getElementById('trajectories').replaceChildren(...nodes);
}
async function applyFilters(){
  const mine = ++query;
  const kind = document.getElementById('kind').value;
  const text = document.getElementById('search').value.toLowerCase();
  let found = [];
  for (let i = 0; i < tags.length; i++)
    if (kind === 'all' || tags[i].split(' ').includes(kind)) found.push(i);
  if (text){
    document.getElementById('shown').textContent = 'searching…';
    const hits = [];
    for (const i of found){
      const records = await block(Math.floor(i / BLOCK));
      if (mine !== query) return;  // a newer search started
      if (records[i % BLOCK].toLowerCase().includes(text)) hits.push(i);
    }
    found = hits;
  }
  if (mine !== query) return;
  matches = found; page = 0; await show();
}
function turn(step){ page = Math.max(0, page + step); show(); }
// a link can carry a filter: report.html#kind=wc&q=some%20text
const wanted = new URLSearchParams(location.hash.slice(1));
if (wanted.has('kind')) document.getElementById('kind').value = wanted.get('kind');
if (wanted.has('q')) document.getElementById('search').value = wanted.get('q');
applyFilters().then(() => {
  // when the first page was on screen, in ms since navigation (read by the benchmark)
  document.getElementById('trajectories').dataset.shownAfterMs = Math.round(performance.now());
});
"""


def _calls(calls: list[ToolCall]) -> list[dict]:
    return [
        {
            "tool": c.tool,
            "input": c.input,
            "out": str(c.output if c.ok else f"{c.problem}: {c.error}"),
            "fault": c.fault,
            "true": str(c.true_output),
        }
        for c in calls
    ]


def _record(result: TaskResult, task: Task | None) -> tuple[str, str]:
    """(the filter tags, the JSON record the page renders) of one result."""
    t = result.trajectory
    if t is None:
        record = {"id": result.task_id, "sample": result.sample, "error": result.error or ""}
        return "error", json.dumps(record, ensure_ascii=False)
    first = result.grades[0] if result.grades else False
    flip = ("c" if first else "w") + ("c" if result.final_correct else "w")
    critiques: dict[str, list[dict]] = {}
    for c in t.critiques:
        critiques.setdefault(str(c.iteration), []).append(
            {
                "source": c.source,
                "verdict": c.verdict or "unparsed",
                "confidence": "" if c.confidence is None else f" ({c.confidence:.2f})",
                "step": f" · first wrong step: {c.mistake_step}" if c.mistake_step else "",
                "perturbation": c.perturbation,
                "text": c.feedback or c.raw,
                "calls": _calls(c.tool_calls),
            }
        )
    record = {
        "id": result.task_id,
        "sample": result.sample,
        "error": None,
        "right": result.final_correct,
        "flip": FLIP_NAMES[flip],
        "stop": t.stop_reason,
        "chosen": t.chosen,
        "prompt": task.prompt if task else "",
        "reference": task.answer if task is not None else None,
        "attempts": [
            {
                "kind": a.kind,
                "answer": str(a.answer),
                "right": result.grades[i] if i < len(result.grades) else False,
                "tokens": a.usage.total_tokens,
                "text": a.text,
                "calls": _calls(a.tool_calls),
            }
            for i, a in enumerate(t.attempts)
        ],
        "critiques": critiques,
    }
    tags = ("right" if result.final_correct else "wrong") + " " + flip
    return tags, json.dumps(record, ensure_ascii=False)


def _compress(records: list[str]) -> str:
    data = json.dumps(records, ensure_ascii=False).encode()
    return base64.b64encode(gzip.compress(data, compresslevel=6, mtime=0)).decode("ascii")


def _trajectory_data(results: list[TaskResult], tasks: dict[str, Task]) -> str:
    """The index (tags of every result) and the gzip+base64 blocks of records, as script tags.

    Blocks are compressed on threads: zlib releases the GIL, so every core works.
    """
    tags, records = [], []
    order = {task_id: i for i, task_id in enumerate(tasks)}
    # in task order (the task set's), whatever order the results finished in
    for r in sorted(results, key=lambda r: (order.get(r.task_id, len(order)), r.task_id, r.sample)):
        tag, record = _record(r, tasks.get(r.task_id))
        tags.append(tag)
        records.append(record)
    chunks = [records[i : i + _BLOCK] for i in range(0, len(records), _BLOCK)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        blocks = list(pool.map(_compress, chunks))
    # "</" would close the script element early: JSON allows "<\/" for it
    index = json.dumps({"block": _BLOCK, "tags": tags}).replace("</", "<\\/")
    return f'<script type="application/json" id="index">{index}</script>' + "".join(
        f'<script type="text/plain" class="block">{b}</script>' for b in blocks
    )


_TONES = {"alert": "oracle", "warning": "oracle", "note": "muted", "plain": ""}


def blocks_html(blocks: list[Block]) -> str:
    """Tables and text as HTML, every string escaped."""
    parts = []
    for block in blocks:
        if isinstance(block, Table):
            head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                for row in block.rows
            )
            note = f'<p class="muted">{escape(block.note)}</p>' if block.note else ""
            parts.append(
                f"<h2>{escape(block.title)}</h2><table><tr>{head}</tr>{body}</table>{note}"
            )
            continue
        tone = _TONES[block.tone]
        title = f"<b>{escape(block.title)}</b><br>" if block.title else ""
        lines = "<br>".join(escape(line) for line in block.lines)
        parts.append(f'<p class="{tone}">{title}{lines}</p>' if tone else f"<p>{title}{lines}</p>")
    return "\n".join(parts)


def write_html(
    metrics: RunMetrics,
    results: list[TaskResult],
    tasks: dict[str, Task],
    svgs: dict[str, str],
    path: str | Path,
    *,
    title: str,
    header: list[Block] = (),
) -> Path:
    """Write report.html: ``header`` (what the run is: unfinished, a study's arm), the
    report's blocks and plots, then every trajectory in task order, paged."""
    report = run_report(metrics)
    trajectories = _trajectory_data(results, tasks)
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
<h1>looplab report</h1><p class="muted">{escape(title)}</p>
{blocks_html([*header, *report.summary])}
<div class="plots">{"".join(svgs.values())}</div>
{blocks_html(report.sections)}
<h2>trajectories</h2>
<div id="filters"><select id="kind" onchange="applyFilters()">{options}</select>
<input id="search" placeholder="search all trajectories (Enter)" onchange="applyFilters()">
<span><span id="shown">{len(results)}</span> shown</span> ·
<button onclick="turn(-1)">‹ previous</button> <span id="page"></span>
<button onclick="turn(1)">next ›</button></div>
<div id="trajectories"></div>{trajectories}
<script>{_SCRIPT}</script></body></html>"""
    return write_file(path, page)
