"""A fake OpenAI-compatible chat server on 127.0.0.1 that answers after a fixed delay.

A request asking for JSON (``response_format``) gets a critic verdict; any other
gets an answer line. For runner tests (kill -9 and resume) and throughput benchmarks.

With ``tools=True`` it also plays a generator that uses the calculator: when the
system prompt offers ``<calc>``, it writes the call a one-step arithmetic word
problem needs, and once a ``<result>`` comes back it answers with that number --
so an injected calculator fault reaches the answer deterministically.

Asked for log-probabilities, it gives them (one token per word or space); asked
Kadavath's P(True) question, it answers "A" with a probability of True that depends
on the question's text, so each proposed answer gets its own.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class DelayServer:
    def __init__(self, delay_s: float = 0.0, *, tools: bool = False, prefix: str = "") -> None:
        self.delay_s = delay_s
        self.tools = tools
        self.prefix = prefix
        """Put before every answer and every critique's feedback (a hostile model's escape
        sequences, say)."""
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        """The most requests the server was answering at once."""
        self.in_flight_ports: set[int] = set()
        """The client ports of the requests being answered now (whose requests they are)."""
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
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server.in_flight_ports.add(self.client_address[1])
                time.sleep(server.delay_s)
                with server._lock:
                    server.in_flight -= 1
                    server.in_flight_ports.discard(self.client_address[1])
                text = _answer(body, server.tools, server.prefix)
                data = _response(text, _logprobs(body, text) if body.get("logprobs") else None)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

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


def _structured_answer(response_format: dict, last: str, prefix: str = "") -> str:
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
    feedback = prefix + "check the arithmetic"
    return json.dumps({"verdict": verdict, "confidence": 0.7, "feedback": feedback})


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


def _answer(body: dict, tools: bool = False, prefix: str = "") -> str:
    """What the fake model says to one request."""
    last = body["messages"][-1]["content"]
    system = body["messages"][0]["content"]
    if tools and "response_format" not in body and "<calc>" in system:
        return _calculating_answer(body["messages"])
    if "response_format" in body:
        return _structured_answer(body["response_format"], last, prefix)
    if _is_p_true(body):
        return "A)"
    return f"{prefix}I think so.\nAnswer: {zlib.crc32(last.encode()) % 200}"


def _is_p_true(body: dict) -> bool:
    return any("(A) True" in str(m.get("content", "")) for m in body["messages"])


def _logprobs(body: dict, text: str) -> dict:
    """OpenAI's ``logprobs`` field for ``text``: each word or space a token. For P(True)'s
    question the first token's alternatives are the two options, True with probability
    0.1 to 0.9 by the question's text."""
    tokens = re.findall(r"\S+|\s+", text)
    entries = [
        {"token": t, "logprob": -0.1, "top_logprobs": [{"token": t, "logprob": -0.1}]}
        for t in tokens
    ]
    if _is_p_true(body) and entries:
        question = "".join(str(m.get("content", "")) for m in body["messages"])
        p = (zlib.crc32(question.encode()) % 9 + 1) / 10
        entries[0] = {
            "token": "A",
            "logprob": math.log(p),
            "top_logprobs": [
                {"token": "A", "logprob": math.log(p)},
                {"token": "B", "logprob": math.log(1 - p)},
            ],
        }
    return {"content": entries}


def _response(text: str, logprobs: dict | None = None) -> bytes:
    return json.dumps(
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
                    "logprobs": logprobs,
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
        }
    ).encode()


async def _serve_async(delay_s: float, announce: bool = False) -> None:
    """The same answers from one asyncio event loop: a server in its own process for
    benchmarks at high concurrency, costing far less CPU per request than a thread each.
    ``announce``: print the wall-clock time of the first request (start-up benchmarks)."""
    import asyncio

    first = [announce]

    async def handle(reader, writer):
        writer.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method = head.split(b" ", 1)[0]
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                if method == b"POST":
                    if first[0]:
                        first[0] = False
                        print(f"first request at {time.time()}", flush=True)
                    await asyncio.sleep(delay_s)
                    data = _response(_answer(json.loads(body)))
                else:
                    data = json.dumps({"object": "list", "data": [{"id": "fake"}]}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":  # a server in its own process, for benchmarks: prints its URL
    import asyncio
    import sys

    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    asyncio.run(_serve_async(delay, announce="--announce" in sys.argv))
