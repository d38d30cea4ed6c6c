"""HTML to readable text for the browser tool.

Chosen by measurement (benchmarks/bench_html_to_text.py, five real pages):
inscriptis keeps every main-content sentence and lays out lists and tables
as text, but also keeps navigation and other boilerplate; trafilatura drops
boilerplate but lost a quarter of the main content. So the page is first
pruned of boilerplate elements with selectolax's lexbor parser, then
rendered by inscriptis.
"""

from __future__ import annotations

import re

__all__ = ["BOILERPLATE_SELECTORS", "html_to_text"]

BOILERPLATE_SELECTORS = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "form",
    "button",
    "nav",
    "header",
    "footer",
    "aside",
    "[role=navigation]",
    "[role=banner]",
    "[role=contentinfo]",
    "[role=dialog]",
    "dialog",
    "[aria-hidden=true]",
    "[hidden]",
    # common class/id conventions for sidebars, skip links and pop-ups
    "[class*=sidebar]",
    "[class*=skip-]",
    "[id*=popup]",
    "[class*=popup]",
)
"""Elements dropped before a page becomes text: scripts, styles, navigation, ads."""


def html_to_text(html: str) -> tuple[str, str]:
    """The page's title and its readable text."""
    import inscriptis
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node else ""
    for node in tree.css(", ".join(BOILERPLATE_SELECTORS)):
        if node.tag not in ("html", "body"):  # e.g. <html class="sidebar-visible">
            node.decompose()
    body = tree.body
    text = inscriptis.get_text(body.html if body is not None else (tree.html or ""))
    return title, _tidy(text)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)
