"""A run's report: the terminal tables, the plots and report.html, all drawn
from one ``RunMetrics``.

``write_report(RUN_DIR)`` writes plots and report.html; ``print_report``
prints the tables.

Names are imported on first use (PEP 562).
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "Block": "_blocks",
    "Table": "_blocks",
    "Text": "_blocks",
    "number": "_blocks",
    "pct": "_blocks",
    "usage_line": "_blocks",
    "printable": "_blocks",
    "printable_same_length": "_blocks",
    "SafeConsole": "_terminal",
    "blocks_html": "_html",
    "write_html": "_html",
    "FLIP_NAMES": "_model",
    "Report": "_model",
    "run_report": "_model",
    "write_plots": "_plots",
    "save_figure": "_plots",
    "print_blocks": "_terminal",
    "print_report": "_terminal",
    "report_header": "_write",
    "LINE_EVERY_S": "_progress",
    "RunProgress": "_progress",
    "write_report": "_write",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
