"""Generation speed of the embedded model with token log-probabilities on and off.

The same greedy request (a short story, so generation dominates) timed in
alternation, off then on, so that both see the same moment of a shared
machine; tokens/s is completion tokens over wall time. "on" asks for the
chosen token's log-probability and the 5 most likely alternatives at every
position (``CompletionOptions(logprobs=5)``).

    python benchmarks/bench_logprobs.py [--runs 7] [--tokens 96]
"""

from __future__ import annotations

import argparse
import statistics
import time

from looplab.llm import CompletionOptions, LlamaCppModel, Message

PROMPT = [Message(role="user", content="Write a short story about a lighthouse keeper.")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=96)
    args = parser.parse_args()
    model = LlamaCppModel()
    settings = {
        "off": CompletionOptions(max_tokens=args.tokens),
        "on (top 5)": CompletionOptions(max_tokens=args.tokens, logprobs=5),
    }
    model.complete(PROMPT, settings["off"])  # warm up
    speeds: dict[str, list[float]] = {name: [] for name in settings}
    texts = {}
    for _ in range(args.runs):
        for name, options in settings.items():
            started = time.perf_counter()
            completion = model.complete(PROMPT, options)
            elapsed = time.perf_counter() - started
            speeds[name].append(completion.usage.completion_tokens / elapsed)
            texts[name] = completion.text
    off = statistics.median(speeds["off"])
    print(f"{'logprobs':12} {'tokens/s (median)':>18} {'x off':>7}")
    for name, values in speeds.items():
        median = statistics.median(values)
        print(f"{name:12} {median:18.1f} {median / off:7.3f}")
    print(f"same greedy text with and without: {texts['off'] == texts['on (top 5)']}")


if __name__ == "__main__":
    main()
