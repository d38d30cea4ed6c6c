"""A real HTTP server on 127.0.0.1 serving the browser tests' pages, counting every hit."""

from __future__ import annotations

import functools
import gzip
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"


def _gzip_of_spaces(size: int) -> bytes:
    """gzip of ``size`` spaces, streamed (the spaces never exist in memory at once)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1 << 20)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


@functools.cache
def _bombs() -> tuple[bytes, bytes]:
    """A gzip bomb (1 GiB of spaces in ~1 MB) and the gzip of it (~2 KB); made on first use."""
    bomb = _gzip_of_spaces(1 << 30)
    return bomb, gzip.compress(bomb, 9)


class WebServer:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.host_headers: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.hits.append(self.path)
                server.host_headers.append(self.headers.get("host", ""))
                url = urlparse(self.path)
                route = url.path
                try:
                    if route.startswith("/pages/"):
                        self._send(
                            200, "text/html; charset=utf-8", (PAGES / route[7:]).read_bytes()
                        )
                    elif route == "/nested":  # 1 MB of nested tags: slow to parse
                        depth = 90_000
                        body = b"<html><body>" + b"<div>" * depth + b"x" + b"</div>" * depth
                        self._send(200, "text/html", body)
                    elif route == "/plain":
                        self._send(200, "text/plain", b"just plain text")
                    elif route == "/latin1":
                        self._send(200, "text/plain; charset=iso-8859-1", "café".encode("latin-1"))
                    elif route == "/big":
                        self._send(200, "text/html", b"<html><body><p>" + b"word " * 2_000_000)
                    elif route.startswith("/redirect/"):
                        n = int(route.rsplit("/", 1)[1])
                        self._redirect("/plain" if n == 0 else f"/redirect/{n - 1}")
                    elif route == "/to":
                        self._redirect(parse_qs(url.query)["url"][0])
                    elif route == "/image.png":
                        self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
                    elif route == "/slow":
                        time.sleep(3)
                        self._send(200, "text/plain", b"finally")
                    elif route == "/bomb":  # 1 GB of spaces in ~1 MB of gzip
                        self._send(200, "text/plain", _bombs()[0], {"content-encoding": "gzip"})
                    elif route == "/double-bomb":  # gzip of a gzip bomb: 1 GB in ~5 KB
                        self._send(
                            200, "text/plain", _bombs()[1], {"content-encoding": "gzip, gzip"}
                        )
                    elif route == "/gzip":
                        body = gzip.compress(b"compressed but honest text")
                        self._send(200, "text/plain", body, {"content-encoding": "gzip"})
                    elif route == "/endless":  # chunked, never ends
                        self.send_response(200)
                        self.send_header("content-type", "text/plain")
                        self.send_header("transfer-encoding", "chunked")
                        self.end_headers()
                        chunk = b"y" * 65536
                        while True:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    elif route == "/huge-headers":
                        self.send_response(200)
                        for n in range(2000):
                            self.send_header(f"x-filler-{n}", "z" * 200)
                        self.send_header("content-length", "2")
                        self.end_headers()
                        self.wfile.write(b"ok")
                    elif route == "/drip":
                        self.send_response(200)
                        self.send_header("content-type", "text/plain")
                        self.end_headers()
                        for _ in range(100):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(0.1)
                    else:
                        self._send(404, "text/plain", b"not found")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, code, content_type, body, headers=None):
                self.send_response(code)
                self.send_header("content-type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location):
                self.send_response(302)
                self.send_header("location", location)
                self.send_header("content-length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
