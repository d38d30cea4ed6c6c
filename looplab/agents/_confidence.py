"""Confidence that an answer is right, from sources other than a critic's words.

Kadavath et al. (2022, "Language Models (Mostly) Know What They Know") ask
the model itself whether a proposed answer is true and read the probability
it puts on "True": P(True). With several sampled answers shown first (as
"brainstormed" ideas), the same question is ``p_true_samples``. Two more
sources need no extra prompt: ``answer_logprob`` (how probable the model
found the tokens of its own answer) and ``self_consistency`` (how many of k
sampled answers agree with it). ``verbal`` is the critic's written
confidence, for comparison.

Every source gives a probability in [0, 1] that the answer is right, or None
when it cannot (no True/False option among the model's likely first tokens,
no answer to score); None is recorded, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from looplab.llm import ChatModel, Completion, CompletionOptions, Message, TokenLogprob
from looplab.prompts import render_prompt
from looplab.steps import Body, call

__all__ = [
    "CONFIDENCE_SOURCES",
    "P_TRUE_PREFIX",
    "agreement",
    "answer_logprob",
    "p_true",
    "p_true_from",
    "p_true_messages",
]

CONFIDENCE_SOURCES = ("verbal", "p_true", "p_true_samples", "answer_logprob", "self_consistency")
"""The confidence sources a study can compare, in the order tables show them."""

P_TRUE_PREFIX = "The proposed answer is: ("
"""Where the model continues its own reply: the next token is then the option's letter."""

_TRUE = frozenset({"a", "true"})
_FALSE = frozenset({"b", "false"})
_TOP = 20
"""Alternatives read per position: the most a server returns (OpenAI's cap)."""


def p_true_messages(
    question: str, answer: str, samples: Sequence[str] = (), *, continuation: bool = True
) -> list[Message]:
    """Kadavath's question about ``answer``; with ``samples``, shown as brainstormed
    answers first. With ``continuation``, the reply is begun up to the option letter."""
    brainstorm = ""
    if samples:
        ideas = "\n".join(f"- {sample.strip()}" for sample in samples)
        brainstorm = f"Here are some brainstormed ideas:\n{ideas}\n"
    content = render_prompt("p_true", question=question, answer=answer, brainstorm=brainstorm)
    messages = [Message(role="user", content=content)]
    if continuation:
        messages.append(Message(role="assistant", content=P_TRUE_PREFIX))
    return messages


def _option(token: str) -> bool | None:
    """True for a token that spells the True option ("A", " (A", "True"), False for the
    False option, None for anything else: matched across tokenizers' spellings."""
    word = token.strip().strip("()[]:.*'\"").strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def p_true_from(logprobs: Sequence[TokenLogprob]) -> float | None:
    """P(True) from a reply's log-probabilities: at the first position whose token is an
    option, the probability mass on True-option tokens over the mass on both options
    (tokens spelling the same option pooled). None if no position has an option."""
    for entry in logprobs:
        if _option(entry.token) is None:
            continue
        mass = {True: 0.0, False: 0.0}
        alternatives = entry.top or ((entry.token, entry.logprob),)
        for token, logprob in alternatives:
            side = _option(token)
            if side is not None:
                mass[side] += math.exp(logprob)
        total = mass[True] + mass[False]
        return mass[True] / total if total > 0 else None
    return None


def p_true(
    model: ChatModel, question: str, answer: str, samples: Sequence[str] = ()
) -> Body[tuple[float | None, Completion]]:
    """Ask ``model`` for P(True) of ``answer`` (a body of steps: ``looplab.steps``)."""
    messages = p_true_messages(question, answer, samples, continuation=model.supports_continuation)
    options = CompletionOptions(max_tokens=4, logprobs=_TOP)
    completion = yield call(model.complete, model.acomplete, messages, options)
    return p_true_from(completion.logprobs or ()), completion


def answer_logprob(completion: Completion, answer: str | None) -> float | None:
    """The geometric-mean probability of the tokens of ``answer``'s last occurrence in
    the completion's text: exp(mean log-probability over that span)."""
    if not answer or not completion.logprobs:
        return None
    end = completion.text.rfind(answer)
    if end < 0:
        return None
    span = (end, end + len(answer))
    picked, at = [], 0
    for entry in completion.logprobs:
        start, at = at, at + len(entry.token)
        if start < span[1] and at > span[0]:  # the token overlaps the answer
            picked.append(entry.logprob)
    if not picked:
        return None
    return math.exp(sum(picked) / len(picked))


def agreement(answer: str | None, samples: Sequence[str | None], same) -> float | None:
    """Self-consistency: the share of ``samples`` whose answer is ``same`` as ``answer``
    (``same(a, b)``: the task family's equality). None without an answer or samples."""
    if answer is None or not samples:
        return None
    return sum(1 for s in samples if s is not None and same(answer, s)) / len(samples)
