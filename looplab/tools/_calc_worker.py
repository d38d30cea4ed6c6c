"""The calculator's worker process: JSON lines in, JSON lines out.

Run as ``python -m looplab.tools._calc_worker``. It caps its own memory, then
answers ``{"expr": ...}`` with ``{"ok": true, "output": ...}`` or
``{"ok": false, "error": ...}``. The parent kills it when an evaluation runs
past the time limit.
"""

from __future__ import annotations

import json
import resource
import sys

MEMORY_LIMIT = 1 << 30  # 1 GiB of address space


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    from looplab.errors import ToolError
    from looplab.tools._calc_eval import evaluate

    evaluate("1+1")  # import and warm sympy before saying we are ready
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            answer = {"ok": True, "output": evaluate(json.loads(line)["expr"])}
        except ToolError as exc:
            answer = {"ok": False, "error": str(exc)}
        except MemoryError:
            answer = {"ok": False, "error": "the calculation needs too much memory"}
        except RecursionError:
            answer = {"ok": False, "error": "expression nested too deeply"}
        except Exception as exc:  # sympy's own failures: report, keep serving
            answer = {"ok": False, "error": f"cannot evaluate: {type(exc).__name__}: {exc}"[:300]}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
