"""A critic that verifies with tools before its verdict (CRITIC, Gou et al.): the critic
recomputes the generator's numbers with the calculator, then judges.

    python examples/tool_critic.py "What is 93 times 4?"
"""

import sys

from looplab.agents import Critic, Generator
from looplab.graphs import LoopSetup, run_loop, tool_critic
from looplab.llm import CompletionOptions, load_model
from looplab.records import TaskView
from looplab.tools import Calculator


def main(question: str) -> None:
    model = load_model("local")
    generator = Generator(model, options=CompletionOptions(max_tokens=120))  # no tools: it may err
    critic = Critic(model, tools=[Calculator()])
    setup = LoopSetup(generator=generator, critic=critic, max_iters=2)
    task = TaskView(id="q", prompt=question, family="arithmetic")
    trajectory = run_loop(tool_critic(setup), task)
    for attempt, critique in zip(trajectory.attempts, trajectory.critiques, strict=False):
        checks = ", ".join(
            f"{c.input[:40]!r} -> {(c.output or c.error or '')[:40]!r}" for c in critique.tool_calls
        )
        print(
            f"attempt {attempt.iteration}: answer {attempt.answer!r}; critic checked "
            f"[{checks or 'nothing'}] and said {critique.verdict}"
        )
    print(f"stop: {trajectory.stop_reason}; tokens: {trajectory.usage.total_tokens}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "What is 93 times 4?")
