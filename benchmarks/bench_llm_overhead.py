"""Tokens per second of the embedded model through looplab vs llama-cpp-python called directly.

Same process, same loaded weights, same prompts and options; the two paths run
interleaved in ABBA order and the prompt cache is reset before every call, so
neither side profits from the other's work. Reports the median of the per-pair
ratios looplab / direct (1.0 = no overhead).

    python benchmarks/bench_llm_overhead.py [--rounds 5] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import statistics
import time

from looplab.llm import CompletionOptions, LlamaCppModel, Message

PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "Write a haiku about a calculator.",
    "What is 17 times 23? Think step by step.",
    "List three uses of a paperclip.",
    "Describe a cat to someone who has never seen one.",
    "Why do programs need tests?",
]


def looplab_call(model: LlamaCppModel, prompt: str, max_tokens: int) -> tuple[int, float]:
    model.llama.reset()
    messages = [Message(role="user", content=prompt)]
    started = time.perf_counter()
    completion = model.complete(messages, CompletionOptions(max_tokens=max_tokens))
    return completion.usage.completion_tokens, time.perf_counter() - started


def direct_call(model: LlamaCppModel, prompt: str, max_tokens: int) -> tuple[int, float]:
    rendered = model.render_prompt([Message(role="user", content=prompt)])  # outside the timing
    model.llama.reset()
    started = time.perf_counter()
    out = model.llama.create_completion(
        prompt=rendered, max_tokens=max_tokens, temperature=0.0, top_p=1.0
    )
    return out["usage"]["completion_tokens"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    model = LlamaCppModel()
    looplab_call(model, "warm up", 8)
    ratios, ours, theirs = [], [], []
    for round_index in range(args.rounds):
        for prompt in PROMPTS:
            order = (looplab_call, direct_call)
            if round_index % 2:
                order = order[::-1]  # ABBA: cancel drift in machine speed
            results = {f: f(model, prompt, args.max_tokens) for f in order}
            (n_a, t_a), (n_b, t_b) = results[looplab_call], results[direct_call]
            assert n_a == n_b, "both paths must generate the same tokens"
            ours.append(n_a / t_a)
            theirs.append(n_b / t_b)
            ratios.append(ours[-1] / theirs[-1])
    print(f"model: {model.name}; {len(ratios)} pairs, max_tokens={args.max_tokens}")
    print(f"looplab  median tokens/s: {statistics.median(ours):8.1f}")
    print(f"direct   median tokens/s: {statistics.median(theirs):8.1f}")
    print(f"median ratio looplab/direct: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
