"""Critique loops as plain LangGraph graphs: state, node factories, stop policies, prebuilt loops.

Build a loop from a ``LoopSetup`` (generator, critic, sandbox, caps) with a
prebuilt factory -- ``self_refine``, ``critic_loop``, ``tool_critic``,
``test_repair``, ``best_of_n`` -- or wire your own ``StateGraph(LoopState)``
from the node factories; run it on a task with ``run_loop``.
"""

from looplab.graphs._nodes import (
    ORACLE_KEY,
    emit,
    make_critique_node,
    make_decide_node,
    make_generate_node,
    make_repair_node,
    make_test_node,
    route_after_decide,
)
from looplab.graphs._policies import (
    PRICES_PER_MTOK,
    AnswerUnchanged,
    AnyOf,
    CostBudget,
    CriticSaysCorrect,
    MaxIterations,
    NoVisibleTests,
    Oracle,
    OracleCheck,
    StopPolicy,
    TokenBudget,
    loop_usage,
)
from looplab.graphs._prebuilt import best_of_n, critic_loop, self_refine, test_repair, tool_critic
from looplab.graphs._run import (
    GRAPHS,
    GraphFactory,
    arun_loop,
    initial_state,
    load_graph_factory,
    run_config,
    run_loop,
    stream_loop,
    trajectory_from_state,
)
from looplab.graphs._setup import SetupOptions, build_setup
from looplab.graphs._state import LoopSetup, LoopState, append

__all__ = [
    # state
    "LoopSetup",
    "LoopState",
    "append",
    # nodes
    "ORACLE_KEY",
    "emit",
    "make_critique_node",
    "make_decide_node",
    "make_generate_node",
    "make_repair_node",
    "make_test_node",
    "route_after_decide",
    # stop policies
    "PRICES_PER_MTOK",
    "AnswerUnchanged",
    "AnyOf",
    "CostBudget",
    "CriticSaysCorrect",
    "MaxIterations",
    "NoVisibleTests",
    "Oracle",
    "OracleCheck",
    "StopPolicy",
    "TokenBudget",
    "loop_usage",
    # prebuilt graphs
    "GRAPHS",
    "GraphFactory",
    "best_of_n",
    "critic_loop",
    "self_refine",
    "test_repair",
    "tool_critic",
    # building from options
    "SetupOptions",
    "build_setup",
    # running
    "arun_loop",
    "initial_state",
    "load_graph_factory",
    "run_config",
    "run_loop",
    "stream_loop",
    "trajectory_from_state",
]
