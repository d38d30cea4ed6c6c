"""Tools the model calls by writing special tokens: calculator, python, browser.

Not built yet: arrives with the tools issue (#4).
"""

__all__: list[str] = []
