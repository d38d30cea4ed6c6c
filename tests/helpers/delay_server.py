"""A fake OpenAI-compatible chat server on 127.0.0.1 that answers after a fixed delay.

A request asking for JSON (``response_format``) gets a critic verdict; any other
gets an answer line. For runner tests (kill -9 and resume) and throughput benchmarks.

With ``tools=True`` it also plays a generator that uses the calculator: when the
system prompt offers ``<calc>``, it writes the call a one-step arithmetic word
problem needs, and once a ``<result>`` comes back it answers with that number --
so an injected calculator fault reaches the answer deterministically.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DelayServer:
    def __init__(self, delay_s: float = 0.0, *, tools: bool = False) -> None:
        self.delay_s = delay_s
        self.tools = tools
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # as real servers do: no Nagle delay between the header and body writes
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self):
                self._send({"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with server._lock:
                    server.requests += 1
                time.sleep(server.delay_s)
                last = body["messages"][-1]["content"]
                system = body["messages"][0]["content"]
                if server.tools and "response_format" not in body and "<calc>" in system:
                    text = _calculating_answer(body["messages"])
                elif "response_format" in body:
                    text = _structured_answer(body["response_format"], last)
                else:
                    text = f"I think so.\nAnswer: {zlib.crc32(last.encode()) % 200}"
                self._send(
                    {
                        "id": "fake",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "fake",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": text},
                            }
                        ],
                        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
                    }
                )

            def _send(self, payload):
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _structured_answer(response_format: dict, last: str) -> str:
    """JSON of the requested schema: a critic's verdict, or a mistake finder's answer."""
    schema = response_format.get("json_schema", {}).get("schema") or response_format.get(
        "schema", {}
    )
    fields = schema.get("properties", {})
    crc = zlib.crc32(last.encode())
    if "first_wrong_step" in fields:
        return json.dumps({"first_wrong_step": crc % 3})
    if "correct" in fields:
        return json.dumps({"reasoning": "checked", "correct": bool(crc % 3)})
    verdict = "correct" if crc % 2 else "incorrect"
    return json.dumps({"verdict": verdict, "confidence": 0.7, "feedback": "check the arithmetic"})


def _calculating_answer(messages: list[dict]) -> str:
    """A generator that calls the calculator, then states its result."""
    last = messages[-1]["content"]
    result = re.match(r"<result>(.*)</result>", last.strip(), re.S)
    if result:
        return f"So the answer is {result.group(1)}.\nAnswer: {result.group(1)}"
    # the task: the latest user message with two numbers (a repair request has none)
    asks = [m["content"] for m in messages if m["role"] == "user"]
    last = next(text for text in reversed(asks) if len(re.findall(r"\d+", text)) >= 2)
    numbers = re.findall(r"\d+", last)
    op = "*" if "times" in last else "-" if "gives away" in last else "+"
    return f"Let me compute. <calc>{numbers[0]}{op}{numbers[1]}</calc>"


if __name__ == "__main__":  # a server in its own process, for benchmarks: prints its URL
    import sys

    server = DelayServer(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
    print(server.base_url, flush=True)
    threading.Event().wait()
