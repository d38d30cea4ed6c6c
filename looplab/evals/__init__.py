"""Task sets, checkers, the eval runner, the run store, metrics and reports.

Not built yet: arrives with the evals issue (#7).
"""

__all__: list[str] = []
