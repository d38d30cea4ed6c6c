"""A new critique loop in plain LangGraph: one generator, two critics that vote.

The second critic checks with the calculator; the loop stops only when both
say "correct" (or at the attempt cap). It reuses looplab's state, nodes and
records, so `looplab run` and `looplab eval` take it as is:

    looplab run --graph examples/custom_graph.py:build --tools calc "What is 37 times 8?"
    python examples/custom_graph.py
"""

from langgraph.graph import END, START, StateGraph

from looplab.agents import Critic
from looplab.graphs import (
    AnyOf,
    CriticSaysCorrect,
    LoopSetup,
    LoopState,
    MaxIterations,
    make_decide_node,
    make_generate_node,
    make_repair_node,
    route_after_decide,
)
from looplab.records import Critique
from looplab.tools import Calculator


def build(setup: LoopSetup):
    plain = setup.critic or Critic(setup.generator.model)
    checker = Critic(plain.model, tools=[Calculator()])

    def vote(state: LoopState) -> dict:
        attempt, task = state["attempts"][-1], state["task"]
        a, b = (
            c.critique(task, attempt.text, iteration=attempt.iteration) for c in (plain, checker)
        )
        agree = a.verdict == b.verdict == "correct"
        return {
            "critiques": [
                Critique(
                    iteration=attempt.iteration,
                    verdict="correct" if agree else "incorrect",
                    confidence=min(a.confidence or 0, b.confidence or 0) if agree else None,
                    feedback="\n".join(c.feedback for c in (a, b) if c.verdict != "correct"),
                    raw=f"{a.raw}\n---\n{b.raw}",
                    tool_calls=b.tool_calls,
                    usage=a.usage + b.usage,
                    model=f"vote({plain.model.name})",
                    parsed=a.parsed and b.parsed,
                )
            ]
        }

    stop = AnyOf(CriticSaysCorrect(threshold=0.0), MaxIterations(setup.max_iters))
    graph = StateGraph(LoopState)
    graph.add_node("generate", make_generate_node(setup.generator))
    graph.add_node("vote", vote)
    graph.add_node("decide", make_decide_node(stop, max_attempts=setup.max_iters))
    # the run's --repair-tools and --repair-mode reach a user's graph through the setup
    graph.add_node("repair", make_repair_node(setup.repairer or setup.generator, setup.repair_mode))
    graph.add_edge(START, "generate")
    graph.add_edge("generate", "vote")
    graph.add_edge("vote", "decide")
    graph.add_conditional_edges("decide", route_after_decide, ["repair", END])
    graph.add_edge("repair", "vote")
    return graph.compile(checkpointer=setup.checkpointer, name="two_critics_vote")


if __name__ == "__main__":
    from looplab.agents import Generator
    from looplab.graphs import run_loop
    from looplab.llm import CompletionOptions, load_model
    from looplab.records import Task

    model = load_model("local")
    setup = LoopSetup(
        generator=Generator(model, [Calculator()], options=CompletionOptions(max_tokens=150)),
        max_iters=2,
    )
    graph = build(setup)
    tasks = [
        Task(id=f"mul{i}", prompt=f"What is {a} times {b}?", family="arithmetic", answer=str(a * b))
        for i, (a, b) in enumerate([(37, 8), (46, 7), (93, 4)])
    ]
    for task in tasks:
        trajectory = run_loop(graph, task)
        final = trajectory.final
        print(
            f"{task.id}: answer {final.answer} (truth {task.answer}), "
            f"{len(trajectory.attempts)} attempt(s), stop: {trajectory.stop_reason}, "
            f"{trajectory.usage.total_tokens} tokens"
        )
