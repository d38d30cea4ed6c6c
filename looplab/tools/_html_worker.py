"""The browser's page-to-text worker process: JSON lines in, JSON lines out.

Run as ``python -m looplab.tools._html_worker``. It caps its own memory, then
answers ``{"html": ...}`` with ``{"ok": true, "title": ..., "text": ...}`` or
``{"ok": false, "error": ...}``. Parsing a hostile page can take far longer
than its size suggests (deeply nested tags: tens of seconds a megabyte), so
the browser kills this process at its deadline rather than wait.
"""

from __future__ import annotations

import json
import resource
import sys

MEMORY_LIMIT = 2 << 30  # 2 GiB of address space


def main() -> None:
    """Answer requests from stdin until it closes."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    from looplab.tools._html import html_to_text

    html_to_text("<html><title>warm</title><body><p>up</p></body></html>")  # imports
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            title, text = html_to_text(json.loads(line)["html"])
            answer = {"ok": True, "title": title, "text": text}
        except MemoryError:
            answer = {"ok": False, "error": "the page needs too much memory to read"}
        except RecursionError:
            answer = {"ok": False, "error": "the page is nested too deeply to read"}
        except Exception as exc:  # the parsers' own failures: report, keep serving
            answer = {"ok": False, "error": f"cannot read the page: {type(exc).__name__}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
