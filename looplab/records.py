"""Pydantic records that every layer of looplab exchanges.

A run is a directory of these records serialised as JSON lines; metrics and
reports are pure functions of them. Records that are stored on their own carry
a ``version`` so that old files can be migrated on load. Later layers add the
task, attempt, critique and trajectory records here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CriticConfidence",
    "FinderStyle",
    "Locate",
    "RepairMode",
    "ToolSyntaxName",
    "Attempt",
    "Critique",
    "Generation",
    "Task",
    "TaskResult",
    "TaskView",
    "ToolCall",
    "ToolCallProblem",
    "Trajectory",
    "Usage",
    "Verdict",
    "Vote",
]


# -- the vocabularies of a loop's options (LoopConfig's fields use them too) --------

CriticConfidence = Literal[
    "verbal", "p_true", "p_true_samples", "self_consistency", "answer_logprob", "learned"
]
"""Where a critic's confidence (and its verdict) comes from."""
FinderStyle = Literal["trace", "step", "cot-step"]
"""How the mistake finder is prompted (BIG-Bench Mistake's three styles)."""
Locate = Literal["found", "gold", "random"]
"""``backtrack``: where the mistake's location comes from (found by a model, the
labelled gold step, or a random step)."""
ToolSyntaxName = Literal["tags", "gsm8k"]
"""How the generator writes tool calls (``<calc>..</calc>`` or ``<<..=..>>``)."""
RepairMode = Literal["rewrite", "continue"]
"""How a repair is written: a new answer after the feedback, or the previous answer
continued from its first error as the checker corrected it (``Critique.correction``)."""


class Usage(BaseModel):
    """Token counts and wall time of one or more model calls.

    Usages add up with ``+`` so that an attempt, an iteration or a whole run
    can report what it cost.
    """

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    """Tokens the model read (the rendered prompt, including any prefilled text)."""
    completion_tokens: int = 0
    """Tokens the model generated."""
    latency_s: float = 0.0
    """Wall-clock seconds spent waiting for the model, summed over calls."""
    calls: int = Field(default=0, ge=0)
    """How many model calls these numbers cover."""
    unreported_calls: int = Field(default=0, ge=0)
    """Calls whose server reported no token counts (some servers omit them when
    streaming) and whose tokenizer is not known: their tokens are missing from the sums
    above, never guessed."""
    estimated_calls: int = Field(default=0, ge=0)
    """Calls whose server reported no token counts, counted instead with the model's own
    tokenizer (the embedded SmolLM2 weights' for a server named after them): in the
    sums above, marked as estimated."""
    servers: dict[str, int] = Field(default_factory=dict)
    """Calls per server, for a model spread over several servers (empty otherwise)."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens: the budget unit of pass@t comparisons."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            latency_s=self.latency_s + other.latency_s,
            calls=self.calls + other.calls,
            unreported_calls=self.unreported_calls + other.unreported_calls,
            estimated_calls=self.estimated_calls + other.estimated_calls,
            servers=_merge_counts(self.servers, other.servers),
        )


def _merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    if not b:
        return a
    if not a:
        return b
    merged = dict(a)
    for key, n in b.items():
        merged[key] = merged.get(key, 0) + n
    return merged


ToolCallProblem = Literal[
    "unknown_tool", "empty", "nested", "unclosed", "limit", "unresumable", "execution"
]
"""Why a tool call failed: a malformed call (all but ``execution``) or the tool's own error."""


class ToolCall(BaseModel):
    """One tool call the model wrote, and what the runtime answered."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    """Record format version."""
    tool: str
    """The tool's name as the model wrote it (it may name no tool)."""
    input: str
    """The call's body as the model wrote it (fences stripped)."""
    ok: bool
    """True when the tool ran and returned an output."""
    output: str | None = None
    """The text spliced back into the model's text when ``ok`` (after trimming)."""
    error: str | None = None
    """The error message the model saw when not ``ok``."""
    problem: ToolCallProblem | None = None
    """What went wrong when not ``ok``."""
    ms: float = 0.0
    """Milliseconds the tool took (0 for calls rejected before running)."""
    discarded_text: str = ""
    """Text the model wrote after the call's closing tag (a provider that ignored the stop
    sequence); cut off and never shown to the model again."""
    fault: str | None = None
    """An injected fault (``looplab.perturb``), e.g. ``calc:digit``: the model was shown a
    deliberately wrong result. None for every real result."""
    true_output: str | None = None
    """With a fault: what the tool really returned (its output, or ``error: ...``)."""


class Generation(BaseModel):
    """One answer from the decode loop: the model's text with tool results spliced in."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    """Record format version."""
    text: str
    """The whole answer as the model saw it: its own text, calls and the spliced results."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Every call the model wrote, in order, including malformed ones."""
    usage: Usage = Field(default_factory=Usage)
    """Summed over every model call of this answer."""
    finish_reason: str = "stop"
    """``stop``, ``length`` (token budget spent) or ``tool_limit`` (too many rounds)."""
    model: str = ""
    """The model that wrote it."""
    continued: bool = True
    """True when results were spliced by true continuation, False when by new turns."""
    final_completion: Any = Field(default=None, exclude=True, repr=False)
    """The last model call's ``Completion`` when it carries token log-probabilities (the
    answer line is in it), for the answer's probability; never written to a record."""

    @property
    def tool_errors(self) -> int:
        """How many calls ended in an error the model saw."""
        return sum(not call.ok for call in self.tool_calls)


class TaskView(BaseModel):
    """What a loop may see of a task: never the reference answer or the hidden tests."""

    model_config = ConfigDict(frozen=True)

    id: str
    prompt: str
    family: str = "custom"
    """What kind of task: decides the answer convention (``Answer: X`` or a code block)."""
    entry_point: str | None = None
    """For code: the function the tests call."""
    visible_tests: str | None = None
    """For code: tests the loop may run and show the model (``test_repair``)."""
    choices: list[str] | None = None
    """For multiple choice: the choices, listed in the prompt as A, B, ... in this order."""
    draft: list[str] | None = None
    """Steps of an answer the loop starts from instead of generating one: a chain of
    thought with a planted mistake, a BIG-Bench Mistake trace (the ``backtrack`` graph)."""


class Task(TaskView):
    """A task with its ground truth. Only checkers and an explicit oracle read the truth."""

    answer: str | None = None
    """Reference answer (a number, text, LaTeX, or a choice's letter); hidden from the loop."""
    aliases: list[str] = Field(default_factory=list)
    """Other forms of the reference a grader accepts (short-answer QA); hidden from the loop."""
    hidden_tests: str | None = None
    """For code: the grading tests, ``check(candidate)`` style; hidden from the loop."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else the task set records (difficulty knobs, source, ...)."""

    def public(self) -> TaskView:
        """The part a loop may see."""
        return TaskView.model_validate(self.model_dump(include=set(TaskView.model_fields)))


class Attempt(BaseModel):
    """One answer of the generator: the first, a repair, or one of n samples."""

    model_config = ConfigDict(frozen=True)

    iteration: int
    """0 for the first answer, k for the k-th repair (or the k-th sample in best-of-n);
    in every graph, the attempt's index in its trajectory."""
    kind: Literal["initial", "repair", "sample", "debate", "draft"] = "initial"
    """``draft`` is the task's given answer (``TaskView.draft``), not written by the loop;
    ``debate`` an agent's answer after reading the other agents' previous ones."""
    text: str
    """The whole answer with tool results spliced in."""
    prefilled: int = Field(default=0, ge=0)
    """How many leading characters of ``text`` the model did not write: a backtrack's kept
    steps, a checker's correction it went on from (``repair_mode="continue"``). Training
    exports leave such attempts out: the model never produced that text."""
    answer: str | None = None
    """The final answer extracted by the task family's convention, None if none was found."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    finish_reason: str = "stop"
    model: str = ""
    parent: int | None = None
    """tree_search: the index of the attempt this one repairs (None: sampled afresh)."""
    agent: int | None = None
    """debate: which agent wrote it (its round is ``iteration // agents``)."""
    answer_probability: float | None = None
    """The geometric-mean probability of the answer's tokens under the model that wrote
    it, when the run asked for log-probabilities (``answer_logprob`` critics)."""


Verdict = Literal["correct", "incorrect", "unsure"]
"""A critic's verdict on an answer."""


class Critique(BaseModel):
    """A judgement of one attempt: by a critic model, by visible tests, or by the oracle."""

    model_config = ConfigDict(frozen=True)

    iteration: int
    """The iteration of the attempt judged."""
    source: Literal[
        "model", "tests", "tool", "oracle", "control", "self-tests", "verification", "reflection"
    ] = "model"
    """Who judged. ``tests``: the task's visible tests; ``tool``: a tool that checks the
    answer's own steps (the calculator); ``oracle`` means ground truth was shown to the
    loop; ``control`` is a random judgement (the baseline of a mistake-finding study);
    ``self-tests``: tests the model wrote for its own code (Reflexion's and CodeT's
    internal feedback). Two carry no verdict, only text the next attempt reads:
    ``verification`` (Chain-of-Verification's questions and their independent answers)
    and ``reflection`` (Reflexion's note after a failed trial)."""
    verdict: Verdict | None
    """None when the critic's output could not be parsed (recorded, never guessed)."""
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    confidence_source: str = "verbal"
    """Where ``confidence`` came from: ``verbal`` (the critic wrote it: its confidence in
    its verdict) or ``p_true`` (the model's probability that the answer is true, Kadavath
    et al. 2022; the verdict is then that probability against a threshold)."""
    feedback: str = ""
    """What the generator is shown when it repairs."""
    error_location: str | None = None
    """Where the first error is, if the critic said (e.g. ``step 2``)."""
    correction: str | None = None
    """The attempt's text up to its first wrong step, the checker's value in place of the
    wrong one -- set by a checker that computes the right value (the calculator's step
    check); a repair in ``continue`` mode goes on from it."""
    mistake_step: int | None = None
    """A mistake finder's answer: the first wrong step (1-based); None with verdict
    ``correct`` means "no mistake"."""
    perturbation: str | None = None
    """How this critique was perturbed on purpose (``no_feedback``, ``oracle_flipped``,
    ``biased:X``, ...); None for a plain critique."""
    parsed: bool = True
    """False when the critic's output did not parse even after one retry."""
    raw: str = ""
    """The critic's own text, verbatim."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    model: str = ""

    @property
    def p_correct(self) -> float | None:
        """The critique's probability that the attempt is right, whatever its source."""
        if self.confidence is None:
            return None
        if self.confidence_source != "verbal":
            return self.confidence
        if self.verdict == "correct":
            return self.confidence
        if self.verdict == "incorrect":
            return 1.0 - self.confidence
        return None

    @property
    def score(self) -> float:
        """How strongly this critique vouches for its attempt: what best-of-n ranks by.

        "correct" scores 1 + confidence, "incorrect" 1 - confidence, "unsure" 0.5 and an
        unparsed verdict 0 (a missing confidence counts as 0.5). A confidence that is the
        probability of being right (``p_true``) scores 2 * p, so the order follows p.
        """
        if self.confidence_source != "verbal" and self.confidence is not None:
            return 2.0 * self.confidence
        confidence = self.confidence if self.confidence is not None else 0.5
        if self.verdict == "correct":
            return 1.0 + confidence
        if self.verdict == "incorrect":
            return 1.0 - confidence
        return 0.5 if self.verdict == "unsure" else 0.0


class Vote(BaseModel):
    """A majority vote over extracted answers (self_consistency, debate)."""

    model_config = ConfigDict(frozen=True)

    counts: dict[str, int]
    """Votes per normalised answer (attempts with no answer do not vote)."""
    winner: str | None
    """The answer chosen; None when no attempt gave one."""
    tie: bool = False
    """True when several answers had the most votes."""
    rule: str = "earliest"
    """How a tie was broken: ``earliest`` -- the tied answer given first."""
    voters: list[int] = Field(default_factory=list)
    """Indices (in ``attempts``) of the attempts that voted."""


class Trajectory(BaseModel):
    """A finished loop on one task: every attempt and critique, and why it stopped."""

    version: int = 1
    """Record format version."""
    task_id: str
    graph: str
    """The graph's name (``critic_loop``, a user's ``file.py:build``, ...)."""
    attempts: list[Attempt] = Field(default_factory=list)
    critiques: list[Critique] = Field(default_factory=list)
    stop_reason: str = ""
    chosen: int | None = None
    """Index in ``attempts`` of the answer picked among them (best-of-n, a vote, a search):
    set, the attempts are alternatives rather than iterations; None, the last is final."""
    vote: Vote | None = None
    """The vote that picked ``chosen`` (self_consistency, debate)."""
    oracle: bool = False
    """True when ground truth steered the loop (an oracle stop policy): such results
    are upper bounds, not self-correction (Huang et al. 2023)."""
    models: dict[str, str] = Field(default_factory=dict)
    """Role -> model name, e.g. {"generator": ..., "critic": ...}."""
    forked_at: int | None = None
    """For a counterfactual fork: the iteration from which it differs from its parent;
    the records before it are the parent's, copied unchanged."""

    @property
    def shape(self) -> Literal["iterative", "samples"]:
        """``samples`` when the attempts are alternatives one was picked from (``chosen``
        is set: best-of-n, a vote, a search), ``iterative`` when each attempt repairs the
        one before it and the last is final. Metrics branch on this, never on a graph's name."""
        return "samples" if self.chosen is not None else "iterative"

    @property
    def final_index(self) -> int:
        """Index in ``attempts`` of the final answer (-1 when there is none)."""
        return self.chosen if self.chosen is not None else len(self.attempts) - 1

    @property
    def final(self) -> Attempt | None:
        """The final answer: the chosen attempt, or else the last."""
        if not self.attempts:
            return None
        return self.attempts[self.chosen if self.chosen is not None else -1]

    @property
    def usage(self) -> Usage:
        """Every model call's usage in the loop, every role's."""
        total = Usage()
        for item in (*self.attempts, *self.critiques):
            total += item.usage
        return total


class TaskResult(BaseModel):
    """One finished (task, sample): its trajectory and the ground-truth grade of every attempt.

    The unit every metric reads; a run directory's ``trajectories.jsonl`` is one per line.
    """

    version: int = 1
    task_id: str
    sample: int = 0
    trajectory: Trajectory | None = None
    grades: list[bool] = Field(default_factory=list)
    """Correctness of each attempt, in order (graded after the loop, never shown to it)."""
    grade_details: list[str] = Field(default_factory=list)
    scores: list[float] = Field(default_factory=list)
    """A graded score per attempt beside right/wrong, for families that have one (short-answer
    QA: SQuAD token F1 against the best alias); empty otherwise."""
    gold: dict[str, Any] = Field(default_factory=dict)
    """Ground truth the metrics need besides the grades (a planted mistake's step, ...);
    recorded after the loop, never shown to it."""
    error: str | None = None
    """Set when the task failed (a backend error, ...): recorded, never fatal to the run."""

    @property
    def final_correct(self) -> bool:
        """Whether the trajectory's final answer was graded correct."""
        if not self.grades or self.trajectory is None:
            return False
        return self.grades[self.trajectory.final_index]
