"""Generator (the decode loop with tool calls by special tokens) and Critic.

Not built yet: arrives with the tools issue (#4) and the graphs issue (#6).
"""

__all__: list[str] = []
