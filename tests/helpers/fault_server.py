"""A tiny OpenAI-compatible HTTP server that fails on purpose, for the backend's fault tests.

Each POST to ``/v1/chat/completions`` takes the next step of a script:
``("ok", text)``, ``("ok-no-usage", text)``, ``("status", code)``,
``("status", code, {header: value}, message)`` or ``("sleep", seconds)``. Every request is counted.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion_body(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fault",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


class FaultServer:
    def __init__(self) -> None:
        self.script: deque[tuple] = deque()
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                server.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                step = server.script.popleft() if server.script else ("ok", "default")
                if step[0] == "sleep":
                    time.sleep(step[1])
                    step = ("ok", "late")
                if step[0] == "ok":
                    self._send(200, completion_body(step[1]))
                elif step[0] == "ok-no-usage":
                    body = completion_body(step[1])
                    del body["usage"]
                    self._send(200, body)
                else:
                    headers = step[2] if len(step) > 2 else {}
                    message = step[3] if len(step) > 3 else f"injected {step[1]}"
                    self._send(step[1], {"error": {"message": message}}, headers)

            def _send(self, code: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(code)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
