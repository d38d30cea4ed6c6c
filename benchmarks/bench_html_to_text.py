"""Which HTML-to-text library should the browser use? Quality and speed on real pages.

The pages are real documents saved as fixtures (tests/fixtures/pages: Python's
IDLE docs, a Rust book chapter, a rustdoc API page, a Debian DocBook page and
zlib's hand-written example page). For each page we list sentences of its
main content, which a reader must get, and pieces of boilerplate (navigation,
keyboard help, "copy path" buttons), which only cost the model tokens.

    content recall = main-content sentences found / listed
    junk           = boilerplate pieces found / listed
    size           = characters of text returned (tokens the model pays for)

Candidates must be installed to be measured (pip install trafilatura inscriptis
html2text selectolax beautifulsoup4); missing ones are skipped and named.

    python benchmarks/bench_html_to_text.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

PAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"

# page -> (main-content sentences, boilerplate pieces)
GOLD: dict[str, tuple[list[str], list[str]]] = {
    "python_idle_help.html": (
        [
            "IDLE is Python’s Integrated Development and Learning Environment",
            "coded in 100% pure Python, using the tkinter GUI toolkit",
            "IDLE has two main window types, the Shell window and the Editor window",
            "Completions are supplied, when requested and available",
        ],
        ["Report a Bug", "Show Source", "Previous topic", "modules |"],
    ),
    "rust_book_installation.html": (
        [
            "The first step is to install Rust",
            "Installing rustup on Linux or macOS",
            "rustc --version",
            "Local Documentation",
        ],
        ["Keyboard shortcuts", "Press ? to show this help", "Press Esc to hide this help"],
    ),
    "rustdoc_macro.html": (
        [
            "Check for the presence of a CPU feature at runtime",
            "Runtime detection depends on the platform-specific feature detection facility",
            "The base sets are RV32I, RV64I, RV32E or RV128I",
        ],
        ["Skip to main content", "Copy item path"],
    ),
    "debian_users_and_groups.html": (
        [
            "The Debian base-passwd package contains the master versions of /etc/passwd",
            "The update-passwd tool keeps the entries in these master files in sync",
        ],
        [],
    ),
    "zlib_how.html": (
        [
            "below is an annotated example in C of simple routines to compress and decompress",
            "Without further adieu, here is the program zpipe.c",
            "what to do with a Z_BUF_ERROR",
        ],
        [],
    ),
}


def _normalise(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).lower()


def candidates() -> dict[str, Callable[[str], str]]:
    found: dict[str, Callable[[str], str]] = {}
    try:
        import trafilatura

        def with_trafilatura(html: str) -> str:
            return trafilatura.extract(html, include_tables=True, favor_recall=True) or ""

        found["trafilatura"] = with_trafilatura
    except ImportError:
        pass
    try:
        import inscriptis

        found["inscriptis"] = inscriptis.get_text
    except ImportError:
        pass
    try:
        import html2text

        def with_html2text(html: str) -> str:
            converter = html2text.HTML2Text()
            converter.ignore_links = True
            converter.ignore_images = True
            converter.body_width = 0
            return converter.handle(html)

        found["html2text"] = with_html2text
    except ImportError:
        pass
    try:
        from selectolax.lexbor import LexborHTMLParser

        def with_selectolax(html: str) -> str:
            tree = LexborHTMLParser(html)
            tree.strip_tags(["script", "style", "noscript", "nav", "header", "footer"])
            return tree.body.text(separator="\n") if tree.body else ""

        found["selectolax"] = with_selectolax
    except ImportError:
        pass
    try:
        from looplab.tools import html_to_text

        found["looplab (lexbor-pruned inscriptis)"] = lambda html: "\n".join(html_to_text(html))
    except ImportError:
        pass
    try:
        from bs4 import BeautifulSoup

        def with_bs4(html: str) -> str:
            soup = BeautifulSoup(html, "html.parser")
            for tag in soup(["script", "style", "noscript", "nav", "header", "footer"]):
                tag.decompose()
            return soup.get_text("\n")

        found["bs4(html.parser)"] = with_bs4
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    pages = {name: (PAGES / name).read_text("utf-8") for name in GOLD}
    print(f"{'library':36} {'recall':>7} {'junk':>6} {'chars':>8} {'ms/page (median)':>17}")
    for name, extract in candidates().items():
        found = listed = junk_found = junk_listed = chars = 0
        times = []
        for page, html in pages.items():
            content, junk = GOLD[page]
            text = _normalise(extract(html))
            found += sum(_normalise(s) in text for s in content)
            listed += len(content)
            junk_found += sum(_normalise(s) in text for s in junk)
            junk_listed += len(junk)
            chars += len(text)
            for _ in range(args.repeat):
                started = time.perf_counter()
                extract(html)
                times.append((time.perf_counter() - started) * 1000)
        print(
            f"{name:36} {found / listed:7.0%} {junk_found / junk_listed:6.0%} {chars:8d} "
            f"{statistics.median(times):17.2f}"
        )


if __name__ == "__main__":
    main()
