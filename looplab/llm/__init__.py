"""Model backends behind one small protocol.

``ChatModel.complete(messages, options, on_text=None) -> Completion`` and its
async twin ``acomplete``. Backends: the embedded llama.cpp model (default),
any OpenAI-compatible server, and replay of a recording. Build one from a spec
string with ``load_model("local")``.
"""

from looplab.llm._llamacpp import (
    EmbeddedTokenCounter,
    LlamaCppModel,
    check_gguf,
    default_weights_path,
    embedded_token_counter,
)
from looplab.llm._openai import MAX_STOP_SEQUENCES, OpenAIModel
from looplab.llm._pool import ServerPool
from looplab.llm._replay import (
    RECORDING_FILE,
    RecordingModel,
    ReplayModel,
    ReplayThenLive,
    collect_recording,
    request_key,
)
from looplab.llm._spec import (
    MODEL_SPEC_FORMS,
    ModelSpec,
    check_reachable,
    load_model,
    parse_model_spec,
)
from looplab.llm._structured import (
    Structured,
    StructuredOutputError,
    acomplete_structured,
    complete_structured,
    parse_structured,
    schema_options,
)
from looplab.llm._types import (
    ChatModel,
    Completion,
    CompletionOptions,
    HiddenStateModel,
    Message,
    OnText,
    TokenCounter,
    TokenLogprob,
    as_messages,
    is_continuation,
)

__all__ = [
    # protocol and values
    "ChatModel",
    "Completion",
    "CompletionOptions",
    "HiddenStateModel",
    "Message",
    "OnText",
    "TokenCounter",
    "TokenLogprob",
    "as_messages",
    "is_continuation",
    # structured output
    "Structured",
    "StructuredOutputError",
    "acomplete_structured",
    "complete_structured",
    "parse_structured",
    "schema_options",
    # backends
    "LlamaCppModel",
    "OpenAIModel",
    "RecordingModel",
    "ReplayModel",
    "ReplayThenLive",
    "ServerPool",
    "collect_recording",
    "MAX_STOP_SEQUENCES",
    "RECORDING_FILE",
    "EmbeddedTokenCounter",
    "embedded_token_counter",
    "check_gguf",
    "default_weights_path",
    "request_key",
    # specs
    "ModelSpec",
    "check_reachable",
    "load_model",
    "parse_model_spec",
    "MODEL_SPEC_FORMS",
]
