"""Decode-loop overhead per tool call with an instant replayed model, and calculator latency.

1. A recording is made once of answers that each make 10 tool calls; the
   Generator then replays them with a no-op tool, so what is timed is the
   loop itself: building requests, the replay lookup, parsing, splicing,
   records. Reported: median microseconds per tool call.
2. The calculator (sympy in its worker process, including the round trip)
   on a typical set of expressions: median microseconds per call.

    python benchmarks/bench_decode_loop.py [--answers 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from looplab.agents import Generator
from looplab.llm import Completion, Message, RecordingModel, ReplayModel
from looplab.records import Usage
from looplab.tools import Calculator, TextTool

CALLS_PER_ANSWER = 10
TYPICAL = [
    "48/2",
    "12*3+4",
    "0.15*80",
    "(125-30)/5",
    "sqrt(144)",
    "2^10",
    "17*23",
    "1200*0.07",
    "3*x + 4 = 19",
    "gcd(84, 36)",
    "15% * 240",
    "7.5*4 + 2.25",
]


class NoOp(TextTool):
    name = "calc"
    description = "returns its input"

    def call(self, text: str) -> str:
        return text


class Script:
    """Answers with ten calls, one per model call, then a final sentence."""

    name = "bench"
    supports_continuation = True

    def __init__(self) -> None:
        self.step = 0

    def complete(self, messages, options=None, *, on_text=None):
        self.step += 1
        done = self.step % (CALLS_PER_ANSWER + 1) == 0
        text = "The answer is 42." if done else f"Step {self.step}: <calc>{self.step}*2"
        usage = Usage(prompt_tokens=100, completion_tokens=8, calls=1)
        return Completion(text=text, finish_reason="stop", usage=usage, model=self.name)

    async def acomplete(self, messages, options=None, *, on_text=None):
        return self.complete(messages, options, on_text=on_text)


def question(i: int) -> list[Message]:
    return [Message(role="user", content=f"Question {i}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as run_dir:
        recorder = Generator(RecordingModel(Script(), run_dir), [NoOp()])
        for i in range(args.answers):
            recorder.generate(question(i))
        replayer = Generator(ReplayModel(run_dir), [NoOp()])
        per_call = []
        for i in range(args.answers):
            started = time.perf_counter()
            generation = replayer.generate(question(i))
            elapsed = time.perf_counter() - started
            assert len(generation.tool_calls) == CALLS_PER_ANSWER
            per_call.append(elapsed / CALLS_PER_ANSWER * 1e6)
    print(
        f"decode loop, replayed model: median {statistics.median(per_call):.0f} µs per tool call "
        f"({args.answers} answers x {CALLS_PER_ANSWER} calls)"
    )

    calc = Calculator()
    calc.run("1+1")  # the worker is started and warm
    latencies = []
    for _ in range(20):
        for expression in TYPICAL:
            started = time.perf_counter()
            result = calc.run(expression)
            latencies.append((time.perf_counter() - started) * 1e6)
            assert result.ok, (expression, result.error)
    print(
        f"calculator: median {statistics.median(latencies):.0f} µs per expression, "
        f"p95 {statistics.quantiles(latencies, n=20)[18]:.0f} µs ({len(latencies)} calls)"
    )


if __name__ == "__main__":
    main()
