"""A math agent: the generator calls the calculator by writing <calc>...</calc>; a critic
judges and the generator repairs (critic_loop).

    python examples/math_agent.py "What is 46 times 7?"
"""

import sys

from looplab.agents import Critic, Generator
from looplab.graphs import LoopSetup, critic_loop, run_loop
from looplab.llm import CompletionOptions, load_model
from looplab.records import TaskView
from looplab.tools import Calculator


def main(question: str) -> None:
    model = load_model("local")
    generator = Generator(model, [Calculator()], options=CompletionOptions(max_tokens=150))
    setup = LoopSetup(generator=generator, critic=Critic(model), max_iters=2)
    task = TaskView(id="q", prompt=question, family="arithmetic")
    trajectory = run_loop(critic_loop(setup), task)
    for attempt in trajectory.attempts:
        calls = ", ".join(
            f"{c.tool}({c.input}) = {c.output or c.error}" for c in attempt.tool_calls
        )
        print(
            f"attempt {attempt.iteration}: answer {attempt.answer!r}; tool calls: {calls or 'none'}"
        )
    for critique in trajectory.critiques:
        print(f"critique {critique.iteration}: {critique.verdict} ({critique.confidence})")
    print(f"stop: {trajectory.stop_reason}; tokens: {trajectory.usage.total_tokens}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "What is 46 times 7?")
