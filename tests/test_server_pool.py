"""One model on several servers: least outstanding requests, failover, recovery, counts."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from looplab.errors import LLMAuthError, LLMConnectionError, ModelSpecError
from looplab.llm import Completion, Message, ServerPool, load_model, parse_model_spec
from looplab.metrics import compute_metrics
from looplab.records import Usage
from looplab.runs import EvalConfig, read_results, run_eval
from tests.helpers.delay_server import DelayServer

ASK = [Message(role="user", content="What is 2+2?")]


class Member:
    """A stand-in server: answers after ``delay``, or raises ``error`` while it is set."""

    supports_continuation = False

    def __init__(self, name, delay=0.0, error=None):
        self.name, self.delay, self.error, self.calls = name, delay, error, 0
        self._lock = threading.Lock()

    def complete(self, messages, options=None, *, on_text=None):
        with self._lock:
            self.calls += 1
        if self.error is not None:
            raise self.error
        time.sleep(self.delay)
        usage = Usage(calls=1, completion_tokens=1)
        return Completion(text="4", finish_reason="stop", usage=usage, model=self.name)

    async def acomplete(self, messages, options=None, *, on_text=None):
        return self.complete(messages, options, on_text=on_text)


def test_a_slow_server_gets_fewer_requests():
    fast, slow = Member("fast", 0.005), Member("slow", 0.05)
    pool = ServerPool([fast, slow], name="pool")
    with ThreadPoolExecutor(8) as threads:
        list(threads.map(lambda _: pool.complete(ASK), range(200)))
    assert fast.calls + slow.calls == 200
    assert fast.calls > 2 * slow.calls > 0


def test_a_failing_server_is_taken_out_then_tried_again_after_its_cooldown():
    now = [0.0]
    good, bad = Member("good"), Member("bad", error=LLMConnectionError("refused"))
    pool = ServerPool([bad, good], name="pool", cooldown_s=30, clock=lambda: now[0])
    for _ in range(5):
        assert pool.complete(ASK).usage.servers == {"good": 1}
    assert bad.calls == 1 and pool.failures == [1, 0]  # out after one failure
    now[0] = 31.0
    bad.error = None
    answered = [pool.complete(ASK).usage.servers for _ in range(4)]
    assert {"bad": 1} in answered  # back in rotation once its cooldown is over


def test_errors_another_server_would_repeat_are_not_failed_over():
    first, second = Member("a", error=LLMAuthError("401")), Member("b")
    with pytest.raises(LLMAuthError):
        ServerPool([first, second], name="pool").complete(ASK)
    assert second.calls == 0


def test_when_every_server_fails_the_error_says_so():
    down = [Member(n, error=LLMConnectionError("refused")) for n in "ab"]
    with pytest.raises(LLMConnectionError, match="every server of pool failed"):
        ServerPool(down, name="pool").complete(ASK)


def test_specs_with_several_urls():
    spec = parse_model_spec("openai:m@http://127.0.0.1:1/v1,http://127.0.0.1:2/v1")
    assert spec.base_url == "http://127.0.0.1:1/v1,http://127.0.0.1:2/v1"
    with pytest.raises(ModelSpecError, match="not an http"):
        parse_model_spec("openai:m@http://127.0.0.1:1/v1,ftp://x")


def test_two_real_servers_one_failing_partway_through_an_eval(tmp_path):
    a, b = DelayServer(0.01), DelayServer(0.01)
    model = f"openai:fake@{a.base_url},{b.base_url}"
    pool = load_model(model)
    assert isinstance(pool, ServerPool)
    try:
        with ThreadPoolExecutor(4) as threads:
            list(threads.map(lambda _: pool.complete(ASK), range(40)))
        assert a.requests > 5 and b.requests > 5  # spread over both
        b.close()  # the second server dies
        config = EvalConfig(tasks="arithmetic:n=12", model=model, max_iters=2, concurrency=4)
        run = run_eval(config, tmp_path / "run")
    finally:
        a.close()
    results = read_results(run)
    assert len(results) == 12 and not any(r.error for r in results)
    metrics = compute_metrics(results)
    assert sum(metrics.calls_by_server.values()) == metrics.model_calls
    assert set(metrics.calls_by_server) == {a.base_url}  # everything went to the live one
