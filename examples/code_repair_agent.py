"""A code agent that repairs against tests in the sandbox (test_repair): the visible tests
run in Docker or bubblewrap and their failure is fed back; a hidden test grades the result.

    python examples/code_repair_agent.py [--backend auto|docker|bubblewrap|process]
"""

import argparse

from looplab.agents import Generator
from looplab.graphs import LoopSetup, run_loop, test_repair
from looplab.llm import CompletionOptions, load_model
from looplab.records import Task
from looplab.sandbox import check_program, make_sandbox

TASK = Task(
    id="square",
    family="code",
    prompt='def square(x):\n    """Return x squared."""\n',
    entry_point="square",
    visible_tests="def check(candidate):\n    assert candidate(3) == 9\n",
    hidden_tests=(
        "def check(candidate):\n    assert candidate(-4) == 16\n    assert candidate(0) == 0\n"
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    sandbox = make_sandbox(args.backend)
    generator = Generator(load_model("local"), options=CompletionOptions(max_tokens=200))
    setup = LoopSetup(generator=generator, sandbox=sandbox, max_iters=3)
    trajectory = run_loop(test_repair(setup), TASK)
    for attempt, critique in zip(trajectory.attempts, trajectory.critiques, strict=False):
        print(f"attempt {attempt.iteration}: visible tests {critique.verdict}")
    final = trajectory.final
    hidden = check_program(sandbox, final.answer or "", TASK.hidden_tests, TASK.entry_point)
    print(
        f"stop: {trajectory.stop_reason}; hidden test (grading only): "
        f"{'passed' if hidden.passed else 'failed: ' + hidden.detail.splitlines()[-1]}"
    )
    print(f"sandbox: {sandbox.isolation}; tokens: {trajectory.usage.total_tokens}")
    sandbox.close()


if __name__ == "__main__":
    main()
