"""The prebuilt graphs' names and where each is defined: the one registry of graphs.

``GRAPHS`` (the factories), ``--graph``'s help, ``looplab graph list`` and the
unknown-graph error are all made from this table, which imports nothing heavy.
"""

from __future__ import annotations

__all__ = ["GRAPH_CATALOG"]

GRAPH_CATALOG: dict[str, str] = {
    "self_refine": "_prebuilt",
    "critic_loop": "_prebuilt",
    "tool_critic": "_prebuilt",
    "test_repair": "_prebuilt",
    "calc_check": "_prebuilt",
    "best_of_n": "_prebuilt",
    "backtrack": "_backtrack",
    "repair_pool": "_repair_pool",
    "self_consistency": "_voting",
    "debate": "_voting",
    "tree_search": "_search",
    "chain_of_verification": "_methods",
    "reflexion": "_methods",
    "self_tests": "_methods",
}
"""Prebuilt graph name -> the module of ``looplab.graphs`` that defines its factory."""
