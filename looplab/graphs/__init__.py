"""Critique loops as plain LangGraph graphs: state, node factories, stop policies, prebuilt loops.

Build a loop from a ``LoopSetup`` (generator, critic, sandbox, caps) with a
prebuilt factory -- ``self_refine``, ``critic_loop``, ``tool_critic``,
``test_repair``, ``calc_check``, ``best_of_n``, ``backtrack``, ``self_consistency``,
``debate``,
``tree_search`` -- or wire your own ``StateGraph(LoopState)``
from the node factories; run it on a task with ``run_loop``.
"""

from looplab.graphs._backtrack import backtrack
from looplab.graphs._events import (
    CritiqueEvent,
    DecisionEvent,
    LoopEvent,
    TextEvent,
    ToolEvent,
)
from looplab.graphs._fork import checkpoint_serde, run_fork
from looplab.graphs._nodes import (
    ORACLE_KEY,
    TRUTH_KEY,
    as_node,
    as_route,
    emit,
    make_critique_node,
    make_decide_node,
    make_generate_node,
    make_repair_node,
    make_test_node,
    route_after_decide,
    run_truth,
)
from looplab.graphs._policies import (
    PRICES_PER_MTOK,
    AnswerUnchanged,
    AnyOf,
    ConfidenceAbove,
    CostBudget,
    CriticSaysCorrect,
    MaxIterations,
    NothingChecked,
    NoVisibleTests,
    Oracle,
    TokenBudget,
    loop_usage,
)
from looplab.graphs._prebuilt import (
    best_of_n,
    calc_check,
    critic_loop,
    self_refine,
    test_repair,
    tool_critic,
)
from looplab.graphs._repair_pool import repair_pool
from looplab.graphs._run import (
    GRAPHS,
    SANDBOX_GRAPHS,
    GraphFactory,
    arun_loop,
    graph_source_sha256,
    initial_state,
    load_graph_factory,
    run_config,
    run_loop,
    stream_loop,
    trajectory_from_state,
)
from looplab.graphs._search import node_scores, tree_search
from looplab.graphs._state import (
    LoopSetup,
    LoopState,
    OracleCheck,
    StopPolicy,
    Truth,
    append,
)
from looplab.graphs._voting import debate, debate_messages, self_consistency

__all__ = [
    # state
    "LoopSetup",
    "LoopState",
    "Truth",
    "append",
    # stream events
    "CritiqueEvent",
    "DecisionEvent",
    "LoopEvent",
    "TextEvent",
    "ToolEvent",
    # nodes
    "ORACLE_KEY",
    "TRUTH_KEY",
    "as_node",
    "as_route",
    "emit",
    "make_critique_node",
    "make_decide_node",
    "make_generate_node",
    "make_repair_node",
    "make_test_node",
    "route_after_decide",
    "run_truth",
    # stop policies
    "PRICES_PER_MTOK",
    "AnswerUnchanged",
    "AnyOf",
    "CostBudget",
    "ConfidenceAbove",
    "CriticSaysCorrect",
    "MaxIterations",
    "NoVisibleTests",
    "NothingChecked",
    "Oracle",
    "OracleCheck",
    "StopPolicy",
    "TokenBudget",
    "loop_usage",
    # prebuilt graphs
    "GRAPHS",
    "SANDBOX_GRAPHS",
    "GraphFactory",
    "backtrack",
    "best_of_n",
    "calc_check",
    "self_consistency",
    "debate",
    "tree_search",
    "debate_messages",
    "node_scores",
    "critic_loop",
    "repair_pool",
    "self_refine",
    "test_repair",
    "tool_critic",
    # running
    "arun_loop",
    "initial_state",
    "graph_source_sha256",
    "load_graph_factory",
    "run_config",
    "run_fork",
    "checkpoint_serde",
    "run_loop",
    "stream_loop",
    "trajectory_from_state",
]
