"""A real HTTP server on 127.0.0.1 serving the browser tests' pages, counting every hit."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"


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

            def _send(self, code, content_type, body):
                self.send_response(code)
                self.send_header("content-type", content_type)
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
