"""A local web site that serves a corpus of pages on 127.0.0.1, for offline browsing.

``serve_corpus()`` starts (once per process) a small HTTP server on a free port of
127.0.0.1 in a daemon thread and returns its ``IP:PORT``. It serves each page of
the invented corpus at its path as HTML, an index of every page at ``/``, and 404
otherwise. The browse tool reaches it under the host name ``wiki.invalid`` through
its allow-list (``Browser(sites=...)``); nothing else of the machine is exposed.
"""

from __future__ import annotations

import html
import json
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["CORPUS_FILE", "SITE_HOST", "corpus_pages", "serve_corpus"]

SITE_HOST = "wiki.invalid"
"""The host name the browse tool reaches the invented corpus by (``.invalid`` is reserved
by RFC 2606: no real site has it)."""
CORPUS_FILE = "invented_wiki.jsonl"
"""The shipped corpus, in ``looplab/data``: one page per line (path, title, text and the
questions it answers), made by ``looplab.tasks.make_corpus``."""

_lock = threading.Lock()
_address: str | None = None


def _page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    ).encode()


@cache
def corpus_pages() -> tuple[dict[str, Any], ...]:
    """The shipped corpus's pages."""
    text = resources.files("looplab").joinpath("data", CORPUS_FILE).read_text("utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def _site() -> dict[str, bytes]:
    pages = {
        p["path"]: _page(p["title"], f"<p>{html.escape(p['text'])}</p>") for p in corpus_pages()
    }
    links = "".join(
        f"<li><a href='{html.escape(p['path'])}'>{html.escape(p['title'])}</a></li>"
        for p in corpus_pages()
    )
    pages["/"] = _page("Invented encyclopedia", f"<ul>{links}</ul>")
    return pages


def serve_corpus() -> str:
    """``IP:PORT`` of this process's corpus server, started on first use."""
    global _address
    with _lock:
        if _address is None:
            pages = _site()

            class Handler(BaseHTTPRequestHandler):
                def do_GET(self) -> None:
                    body = pages.get(unquote(urlsplit(self.path).path))
                    status = 200 if body is not None else 404
                    body = body or _page("Not found", "<p>No page at this address.</p>")
                    self.send_response(status)
                    self.send_header("content-type", "text/html; charset=utf-8")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, format: str, *args: object) -> None:
                    pass  # a run's terminal is not the place for access logs

            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            _address = f"127.0.0.1:{server.server_address[1]}"
        return _address
