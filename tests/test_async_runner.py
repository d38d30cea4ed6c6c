"""The async runner: bodies written once run the same sync and async, loops wait on the
event loop without a thread each, and the concurrency bound holds across processes."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from looplab.agents import Generator
from looplab.graphs import LoopSetup, arun_loop, run_loop, self_refine
from looplab.llm import Completion, CompletionOptions, Message, OpenAIModel
from looplab.records import Task, Usage
from looplab.runs import EvalConfig, read_results, run_eval, tagged_line
from looplab.steps import Step, adrive, drive
from tests.helpers.delay_server import DelayServer


def _body(log: list[str]):
    first = yield Step(lambda: "sync-1", lambda: _value("async-1"))
    log.append(first)
    second = yield Step(lambda: first + "+sync-2", lambda: _value(first + "+async-2"))
    log.append(second)
    return len(log)


async def _value(value: str) -> str:
    await asyncio.sleep(0)
    return value


def test_a_body_runs_its_steps_sync_or_awaits_their_twins():
    sync_log: list[str] = []
    assert drive(_body(sync_log)) == 2
    assert sync_log == ["sync-1", "sync-1+sync-2"]
    async_log: list[str] = []
    assert asyncio.run(adrive(_body(async_log))) == 2
    assert async_log == ["async-1", "async-1+async-2"]


def test_a_failing_step_raises_out_of_the_body_and_closes_it():
    closed: list[bool] = []

    def body():
        try:
            yield Step(_raise, _araise)
        finally:
            closed.append(True)

    with pytest.raises(ValueError, match="step failed"):
        drive(body())
    with pytest.raises(ValueError, match="step failed"):
        asyncio.run(adrive(body()))
    assert closed == [True, True]


def _raise():
    raise ValueError("step failed")


async def _araise():
    _raise()


class ThreadNotingModel:
    """Answers like a small model and notes which thread and which API served each call."""

    name = "noting"
    supports_continuation = False

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def complete(self, messages, options=None, *, on_text=None) -> Completion:
        self.calls.append(("sync", threading.current_thread().name))
        return self._answer(options)

    async def acomplete(self, messages, options=None, *, on_text=None) -> Completion:
        self.calls.append(("async", threading.current_thread().name))
        await asyncio.sleep(0)
        return self._answer(options)

    @staticmethod
    def _answer(options: CompletionOptions | None) -> Completion:
        text = "I think so.\nAnswer: 5"
        if options is not None and options.json_schema:
            text = json.dumps({"verdict": "incorrect", "confidence": 0.5, "feedback": "again"})
        return Completion(text=text, finish_reason="stop", usage=Usage(calls=1), model="noting")


def test_under_ainvoke_every_model_call_is_awaited_on_the_event_loop_thread():
    model = ThreadNotingModel()
    graph = self_refine(LoopSetup(generator=Generator(model), max_iters=3))
    task = Task(id="t", family="arithmetic", prompt="What is 2 + 3?", answer="5")

    async def run():
        return threading.current_thread().name, await arun_loop(graph, task)

    loop_thread, trajectory = asyncio.run(run())
    assert len(trajectory.attempts) == 3 and len(model.calls) == 6
    assert model.calls == [("async", loop_thread)] * 6  # no thread hop, no sync call
    model.calls.clear()
    same = run_loop(graph, task)  # the same graph, invoked sync: the same loop
    assert {api for api, _ in model.calls} == {"sync"}
    assert [a.text for a in same.attempts] == [a.text for a in trajectory.attempts]
    assert [c.verdict for c in same.critiques] == [c.verdict for c in trajectory.critiques]


def test_the_openai_backend_gets_an_async_client_per_event_loop():
    server = DelayServer(0.0)
    try:
        model = OpenAIModel("fake", base_url=server.base_url)
        request = [Message(role="user", content="What is 1 + 1?")]
        first = asyncio.run(model.acomplete(request))
        second = asyncio.run(model.acomplete(request))  # a new loop: the old pool is not reused
        assert first.text == second.text and first.text.startswith("I think so.")
    finally:
        server.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_concurrency_bound_holds_across_worker_processes(tmp_path, workers):
    server = DelayServer(0.05)
    try:
        config = EvalConfig(
            tasks="arithmetic:n=24",
            model=f"openai:fake@{server.base_url}",
            graph="self_refine",
            max_iters=2,
            concurrency=3,
        )
        run = run_eval(config, tmp_path / "run", workers=workers)
    finally:
        server.close()
    assert len(read_results(run)) == 24
    assert 2 <= server.max_in_flight <= 3


def test_the_task_tag_is_spliced_into_a_recorded_line_as_a_merge_would():
    line = json.dumps({"key": "k", "model": "m", "completion": {"text": "a}"}}) + "\n"
    tag = json.dumps(["task-1", 0])
    assert json.loads(tagged_line(line, tag)) == {**json.loads(line), "task": ["task-1", 0]}
    retagged = json.loads(tagged_line(json.dumps({"task": ["old", 1], "k": 1}), tag))
    assert retagged == {"task": ["task-1", 0], "k": 1}
    with pytest.raises(ValueError):
        tagged_line("[1, 2]\n", tag)
