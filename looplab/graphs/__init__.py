"""LangGraph state, node factories, prebuilt critique loops and stop policies.

Not built yet: arrives with the graphs issue (#6).
"""

__all__: list[str] = []
