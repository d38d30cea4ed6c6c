"""Tools the model calls by writing special tokens into its text.

A tool is text in, text out (``run(text) -> ToolResult``), safe against
whatever a model writes. ``TagSyntax`` says how calls and results look
(``<calc>17*23</calc><result>391</result>``), ``Gsm8kSyntax`` GSM8K's own
convention (``<<17*23=391>>``); the decode loop that runs them
lives in ``looplab.agents``.
"""

from looplab._lazy import lazy_exports
from looplab.tools._builtin import BUILTIN_TOOLS, make_tools
from looplab.tools._gsm8k_syntax import SYNTAXES, Gsm8kSyntax, make_syntax
from looplab.tools._prompt import example_turns, tool_system_prompt
from looplab.tools._protocol import TextTool, Tool, ToolExample, ToolRegistry, ToolResult
from looplab.tools._syntax import CallMatch, TagSyntax, ToolSyntax, strip_fences

_LAZY = {
    "Browser": "_browser",
    "check_address": "_browser",
    "embedded_ipv4": "_browser",
    "system_resolver": "_browser",
    "html_to_text": "_html",
    "Calculator": "_calculator",
    "PythonTool": "_python",
    "CORPUS_FILE": "_site",
    "SITE_HOST": "_site",
    "corpus_pages": "_site",
    "serve_corpus": "_site",
    "WorkerPool": "_worker",
}
"""The tools themselves load on first use (sympy, httpx and the sandbox are not free)."""


__all__ = [
    # protocol
    "TextTool",
    "Tool",
    "ToolExample",
    "ToolRegistry",
    "ToolResult",
    # syntax and prompting
    "CallMatch",
    "TagSyntax",
    "ToolSyntax",
    "Gsm8kSyntax",
    "SYNTAXES",
    "make_syntax",
    "example_turns",
    "strip_fences",
    "tool_system_prompt",
    # tools
    "BUILTIN_TOOLS",
    "make_tools",
    "Browser",
    "Calculator",
    "PythonTool",
    "check_address",
    "embedded_ipv4",
    "system_resolver",
    "html_to_text",
    "CORPUS_FILE",
    "SITE_HOST",
    "corpus_pages",
    "serve_corpus",
    "WorkerPool",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
