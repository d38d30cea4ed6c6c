"""The OpenAI-compatible backend under faults: retried where right, else one clear error."""

from __future__ import annotations

import json
import threading

import pytest

from looplab.errors import (
    LLMAuthError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMServerError,
    LLMTimeoutError,
)
from looplab.llm import CompletionOptions, Message, OpenAIModel
from tests.helpers.fault_server import FaultServer
from tests.helpers.net import free_port

HELLO = [Message(role="user", content="hello")]
FAST_RETRY = {"retry-after-ms": "10"}


def model(url: str, **kwargs) -> OpenAIModel:
    return OpenAIModel("fault", base_url=url, api_key="k", **kwargs)


def test_500s_are_retried_then_succeed():
    with FaultServer() as server:
        server.script.extend(
            [("status", 500, FAST_RETRY), ("status", 503, FAST_RETRY), ("ok", "fine")]
        )
        completion = model(server.base_url, max_retries=3).complete(HELLO)
    assert completion.text == "fine"
    assert len(server.requests) == 3
    assert completion.usage.prompt_tokens == 7 and completion.usage.completion_tokens == 3


def test_429_is_retried_then_succeeds():
    with FaultServer() as server:
        server.script.extend([("status", 429, FAST_RETRY), ("ok", "after the limit")])
        assert model(server.base_url).complete(HELLO).text == "after the limit"
    assert len(server.requests) == 2


def test_429_that_never_ends_is_a_rate_limit_error():
    with FaultServer() as server:
        server.script.extend([("status", 429, FAST_RETRY)] * 3)
        with pytest.raises(LLMRateLimitError, match="429"):
            model(server.base_url, max_retries=2).complete(HELLO)
    assert len(server.requests) == 3  # the first try and two retries


def test_persistent_500_is_a_server_error_after_retries():
    with FaultServer() as server:
        server.script.extend([("status", 500, FAST_RETRY)] * 2)
        with pytest.raises(LLMServerError, match="500"):
            model(server.base_url, max_retries=1).complete(HELLO)
    assert len(server.requests) == 2


def test_bad_api_key_is_not_retried():
    with FaultServer() as server:
        server.script.append(("status", 401))
        with pytest.raises(LLMAuthError, match="refused the API key"):
            model(server.base_url, max_retries=3).complete(HELLO)
    assert len(server.requests) == 1


def test_timeout_is_retried_then_reported():
    with FaultServer() as server:
        server.script.extend([("sleep", 2.0), ("sleep", 2.0)])
        with pytest.raises(LLMTimeoutError, match="did not answer in time"):
            model(server.base_url, timeout=0.3, max_retries=1).complete(HELLO)
    assert len(server.requests) == 2


def test_server_down_is_a_connection_error():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(LLMConnectionError, match="cannot reach"):
        model(url, max_retries=1).complete(HELLO)


def test_request_carries_the_options():
    with FaultServer() as server:
        options = CompletionOptions(
            temperature=0.7, top_p=0.9, max_tokens=12, stop=("</calc>",), seed=3
        )
        model(server.base_url).complete(HELLO, options)
    sent = server.requests[0]
    assert sent["temperature"] == 0.7 and sent["top_p"] == 0.9 and sent["max_tokens"] == 12
    assert sent["stop"] == ["</calc>"] and sent["seed"] == 3
    assert sent["messages"] == [{"role": "user", "content": "hello"}]


def test_continuation_is_sent_when_declared():
    """vLLM's continue_final_message: the partial message is sent and flagged."""
    with FaultServer() as server:
        chat = model(server.base_url, continue_final_message=True)
        chat.complete([*HELLO, Message(role="assistant", content="Hel")])
    sent = server.requests[0]
    assert sent["messages"][-1] == {"role": "assistant", "content": "Hel"}
    assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False


def test_usage_missing_from_a_response_is_marked_unreported():
    with FaultServer() as server:
        server.script.append(("ok-no-usage", "hi"))
        completion = model(server.base_url).complete(HELLO)
    assert completion.text == "hi"
    assert completion.usage.unreported_calls == 1 and completion.usage.total_tokens == 0


def test_server_refusing_json_schema_is_asked_with_json_object_once():
    """llama-cpp-python's server knows only {"type": "json_object", "schema": ...}."""
    schema = {"title": "Verdict", "type": "object", "properties": {"ok": {"type": "boolean"}}}
    with FaultServer() as server:
        server.script.extend(
            [
                ("status", 422, {}, "response_format: json_schema not allowed"),
                ("ok", '{"ok": true}'),
                ("ok", '{"ok": false}'),
            ]
        )
        chat = model(server.base_url)
        chat.complete(HELLO, CompletionOptions(json_schema=schema))
        chat.complete(HELLO, CompletionOptions(json_schema=schema))
    formats = [r["response_format"] for r in server.requests]
    assert formats[0]["type"] == "json_schema" and formats[0]["json_schema"]["schema"] == schema
    assert formats[1] == formats[2] == {"type": "json_object", "schema": schema}


def test_concurrent_requests_all_fall_back_when_json_schema_is_refused():
    """Requests in flight when the first refusal comes back were built with json_schema
    too: each must be asked again as json_object, not fail (seen against llama-cpp-python's
    server at concurrency 4: one critic call in two failed)."""
    import time as clock
    from concurrent.futures import ThreadPoolExecutor
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.helpers.fault_server import completion_body

    class Refuses(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            if body.get("response_format", {}).get("type") == "json_schema":
                clock.sleep(0.3)  # every thread's first request is in flight by now
                code, answer = 500, {"error": {"message": "Input should be 'text' or "
                                               "'json_object' (got json_schema)"}}  # fmt: skip
            else:
                code, answer = 200, completion_body('{"ok": true}')
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Refuses)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        chat = model(f"http://127.0.0.1:{httpd.server_port}/v1")
        schema = {"title": "V", "type": "object", "properties": {"ok": {"type": "boolean"}}}
        with ThreadPoolExecutor(4) as pool:
            done = list(pool.map(lambda _: chat.complete(HELLO, CompletionOptions(
                json_schema=schema)), range(4)))  # fmt: skip
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert [c.text for c in done] == ['{"ok": true}'] * 4
