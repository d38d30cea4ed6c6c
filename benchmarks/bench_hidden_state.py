"""What a hidden-state feature costs per answer on the embedded model.

For 20 one-digit sums, the model first answers greedily (as a run's sample
does); then its hidden state at the end of that answer is read the way a
learned verifier reads it (the task and the answer as a chat, one forward
pass over them). Prints the median time of each, the ratio, and the tokens
each processed; every figure from the same run.

    python benchmarks/bench_hidden_state.py [--tasks 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from looplab.llm import CompletionOptions, LlamaCppModel, Message
from looplab.prompts import solve_messages
from looplab.tasks import arithmetic_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = LlamaCppModel()
    tasks = arithmetic_tasks(args.tasks, digits=1, ops="+-", style="plain", seed=0)
    model.hidden_state([Message(role="user", content="warm up")])  # loads the second context
    answer_s, hidden_s, answer_tokens, hidden_tokens = [], [], [], []
    for task in tasks:
        messages = solve_messages(task.public())
        for _ in range(args.repeats):
            started = time.perf_counter()
            completion = model.complete(messages, CompletionOptions(max_tokens=96))
            answer_s.append(time.perf_counter() - started)
            read = [
                Message(role="user", content=task.prompt),
                Message(role="assistant", content=completion.text),
            ]
            started = time.perf_counter()
            _, usage = model.hidden_state(read)
            hidden_s.append(time.perf_counter() - started)
        answer_tokens.append(completion.usage.total_tokens)
        hidden_tokens.append(usage.prompt_tokens)
    a, h = statistics.median(answer_s), statistics.median(hidden_s)
    print(f"{len(tasks)} answers x {args.repeats} repeats, medians:")
    print(f"greedy answer   {a * 1000:7.1f} ms  {statistics.median(answer_tokens):5.0f} tokens")
    print(f"hidden state    {h * 1000:7.1f} ms  {statistics.median(hidden_tokens):5.0f} tokens")
    print(f"hidden / answer {h / a:7.2f}x time")


if __name__ == "__main__":
    main()
