"""A run as an inspect_ai eval log, built with inspect_ai's own log classes and writer, so
that ``inspect view`` shows it (``pip install 'looplab[inspect]'``).

One sample per (task, sample): id = task id, epoch = sample + 1. Its messages are the
loop as the generator lived it: the task, each attempt, each critique (a user turn whose
metadata holds the verdict). Scores: ``grade`` (the grader's C/I on the final answer)
and ``critic_I`` (the model critic's verdict on attempt I, with its probability and the
attempt's grade in metadata). Usage per model and per role (generator, critic). The
target is the reference answer; hidden tests are never written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from looplab.errors import EvalError
from looplab.exports._source import RunSource
from looplab.files import make_dir, refuse_symlink
from looplab.prompts import task_request
from looplab.records import TaskResult, Usage

__all__ = ["inspect_log", "write_inspect_log"]


def _inspect() -> Any:
    try:
        import inspect_ai.log as log
        import inspect_ai.model as model
        import inspect_ai.scorer as scorer
    except ImportError:
        raise EvalError("--as inspect needs inspect_ai: pip install 'looplab[inspect]'") from None
    return log, model, scorer


def _usage(model: Any, usage: Usage) -> Any:
    return model.ModelUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def _sample(source: RunSource, result: TaskResult, log: Any, model: Any, scorer: Any) -> Any:
    task = source.tasks[result.task_id]
    target = "" if task.hidden_tests else (task.answer or "")
    common = {
        "id": result.task_id,
        "epoch": result.sample + 1,
        "input": task_request(task),
        "target": target,
    }
    t = result.trajectory
    if t is None or result.error:
        return log.EvalSample(
            **common,
            error={
                "message": result.error or "no trajectory",
                "traceback": "",
                "traceback_ansi": "",
            },
        )
    messages: list[Any] = [model.ChatMessageUser(content=task_request(task), source="input")]
    scores = {}
    for i, attempt in enumerate(t.attempts):
        messages.append(
            model.ChatMessageAssistant(
                content=attempt.text or "(empty)",
                model=attempt.model or None,
                metadata={
                    "iteration": attempt.iteration,
                    "kind": attempt.kind,
                    "answer": attempt.answer,
                },
            )
        )
        for critique in (c for c in t.critiques if c.iteration == i):
            messages.append(
                model.ChatMessageUser(
                    content=f"[{critique.source} critique: {critique.verdict or 'unparsed'}] "
                    f"{critique.feedback}".strip(),
                    metadata={
                        "critique_of": i,
                        "verdict": critique.verdict,
                        "p_correct": critique.p_correct,
                        "source": critique.source,
                    },
                )
            )
            if critique.source == "model":
                scores[f"critic_{i}"] = scorer.Score(
                    value=critique.verdict or "unparsed",
                    explanation=critique.feedback or None,
                    metadata={
                        "p_correct": critique.p_correct,
                        "confidence_source": critique.confidence_source,
                        "attempt_right": result.grades[i] if i < len(result.grades) else None,
                    },
                )
    final = t.final
    index = t.final_index
    scores["grade"] = scorer.Score(
        value="C" if result.final_correct else "I",
        answer=final.answer if final else None,
        explanation=result.grade_details[index] if index < len(result.grade_details) else None,
    )
    generator = sum((a.usage for a in t.attempts), Usage())
    critic = sum((c.usage for c in t.critiques), Usage())
    by_model: dict[str, Usage] = {}
    for item in (*t.attempts, *t.critiques):
        name = item.model or "unknown"
        by_model[name] = by_model.get(name, Usage()) + item.usage
    return log.EvalSample(
        **common,
        messages=messages,
        output=model.ModelOutput.from_content(
            final.model if final and final.model else "unknown", final.text if final else ""
        ),
        scores=scores,
        metadata={
            "graph": t.graph,
            "stop_reason": t.stop_reason,
            "oracle": t.oracle,
            "perturbed": source.perturbations(t),
            "grades": list(result.grades),
        },
        model_usage={name: _usage(model, u) for name, u in by_model.items()},
        role_usage={"generator": _usage(model, generator), "critic": _usage(model, critic)},
    )


def inspect_log(source: RunSource) -> Any:
    """The run as an ``inspect_ai.log.EvalLog`` (samples, scores, usage, results)."""
    log, model, scorer = _inspect()
    manifest, config = source.manifest, source.manifest.config
    samples = [_sample(source, r, log, model, scorer) for r in source.results]
    graded = [s for s in samples if s.scores]
    right = sum(s.scores["grade"].value == "C" for s in graded)
    run_id = hashlib.sha256(str(source.dir.resolve()).encode()).hexdigest()[:22]
    total = Usage()
    for r in source.results:
        if r.trajectory is not None:
            total += r.trajectory.usage
    return log.EvalLog(
        status="success",
        eval=log.EvalSpec(
            created=manifest.started,
            task=f"looplab/{config.get('graph', '')}",
            task_id=run_id,
            run_id=run_id,
            eval_id=run_id,
            dataset=log.EvalDataset(name=source.spec, samples=len(source.tasks)),
            model=str(config.get("model", "")),
            config=log.EvalConfig(epochs=int(config.get("samples", 1))),
            packages=dict(manifest.versions),
            metadata={"looplab_config": config, "run_dir": str(source.dir)},
        ),
        results=log.EvalResults(
            total_samples=len(samples),
            completed_samples=len(graded),
            scores=[
                log.EvalScore(
                    name="grade",
                    scorer="looplab_grader",
                    metrics={
                        "accuracy": log.EvalMetric(
                            name="accuracy", value=right / len(graded) if graded else 0.0
                        )
                    },
                )
            ],
        ),
        stats=log.EvalStats(
            started_at=manifest.started,
            completed_at=manifest.started,
            model_usage={str(config.get("model", "")): _usage(model, total)},
        ),
        samples=samples,
    )


def write_inspect_log(source: RunSource, path: str | Path) -> Path:
    """Write the run's inspect_ai log (``.eval``, or ``.json`` by the path's suffix)."""
    log, _, _ = _inspect()
    path = Path(path)
    make_dir(path.parent)
    refuse_symlink(path)  # inspect_ai writes the file itself: refuse a link before it does
    log.write_eval_log(inspect_log(source), str(path))
    return path
