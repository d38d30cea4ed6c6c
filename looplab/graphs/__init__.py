"""Critique loops as plain LangGraph graphs: state, node factories, stop policies, prebuilt loops.

Build a loop from a ``LoopSetup`` (generator, critic, sandbox, caps) with a
prebuilt factory -- ``self_refine``, ``critic_loop``, ``tool_critic``,
``test_repair``, ``calc_check``, ``best_of_n``, ``backtrack``, ``self_consistency``,
``debate``, ``tree_search``, ``chain_of_verification``, ``reflexion``,
``self_tests`` -- or wire your own ``StateGraph(LoopState)``
from the node factories; run it on a task with ``run_loop``.

Names are imported on first use (PEP 562): the CLI reads ``GRAPH_CATALOG`` for its
help without paying for LangGraph.
"""

from looplab._lazy import lazy_exports

_EXPORTS = {
    "backtrack": "_backtrack",
    "CritiqueEvent": "_events",
    "DecisionEvent": "_events",
    "LoopEvent": "_events",
    "TextEvent": "_events",
    "ToolEvent": "_events",
    "checkpoint_serde": "_fork",
    "run_fork": "_fork",
    "ORACLE_KEY": "_nodes",
    "TRUTH_KEY": "_nodes",
    "as_node": "_nodes",
    "as_route": "_nodes",
    "emit": "_nodes",
    "make_critique_node": "_nodes",
    "make_decide_node": "_nodes",
    "make_generate_node": "_nodes",
    "make_repair_node": "_nodes",
    "make_test_node": "_nodes",
    "route_after_decide": "_nodes",
    "run_truth": "_nodes",
    "PRICES_PER_MTOK": "_policies",
    "AnswerUnchanged": "_policies",
    "AnyOf": "_policies",
    "ConfidenceAbove": "_policies",
    "CostBudget": "_policies",
    "CriticSaysCorrect": "_policies",
    "MaxIterations": "_policies",
    "NothingChecked": "_policies",
    "NoVisibleTests": "_policies",
    "Oracle": "_policies",
    "TokenBudget": "_policies",
    "loop_usage": "_policies",
    "SELF_TESTS": "_methods",
    "VERIFICATION_QUESTIONS": "_methods",
    "chain_of_verification": "_methods",
    "planned_questions": "_methods",
    "reflexion": "_methods",
    "self_tests": "_methods",
    "written_tests": "_methods",
    "best_of_n": "_prebuilt",
    "calc_check": "_prebuilt",
    "critic_loop": "_prebuilt",
    "self_refine": "_prebuilt",
    "test_repair": "_prebuilt",
    "tool_critic": "_prebuilt",
    "repair_pool": "_repair_pool",
    "GRAPHS": "_run",
    "SANDBOX_GRAPHS": "_run",
    "GraphFactory": "_run",
    "arun_loop": "_run",
    "graph_source_sha256": "_run",
    "initial_state": "_run",
    "load_graph_factory": "_run",
    "run_config": "_run",
    "run_loop": "_run",
    "stream_loop": "_run",
    "trajectory_from_state": "_run",
    "node_scores": "_search",
    "tree_search": "_search",
    "LoopSetup": "_state",
    "LoopState": "_state",
    "OracleCheck": "_state",
    "StopPolicy": "_state",
    "Truth": "_state",
    "append": "_state",
    "debate": "_voting",
    "debate_messages": "_voting",
    "self_consistency": "_voting",
    "GRAPH_CATALOG": "_catalog",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
