"""Model specs parse, or fail with a message that says what to write."""

from __future__ import annotations

import pytest

from looplab.errors import ConfigError, ModelSpecError
from looplab.llm import LlamaCppModel, ModelSpec, load_model, parse_model_spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("local", ModelSpec(kind="local")),
        ("gguf:/models/x.gguf", ModelSpec(kind="gguf", target="/models/x.gguf")),
        ("openai:gpt-4o-mini", ModelSpec(kind="openai", target="gpt-4o-mini")),
        (
            "openai:qwen@http://127.0.0.1:8000/v1",
            ModelSpec(kind="openai", target="qwen", base_url="http://127.0.0.1:8000/v1"),
        ),
        ("replay:runs/a", ModelSpec(kind="replay", target="runs/a")),
        (
            "replay:runs/a#openai:m@http://h/v1",
            ModelSpec(kind="replay", target="runs/a", replay_model="openai:m@http://h/v1"),
        ),
    ],
)
def test_specs_parse_and_print_back(spec, expected):
    parsed = parse_model_spec(spec)
    assert parsed == expected
    assert str(parsed) == spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "unknown model spec"),
        ("gpt-4o", "unknown model spec"),
        ("hf:some/model", "unknown model spec"),
        ("gguf:", "names no gguf target"),
        ("openai:", "names no openai target"),
        ("openai:@http://h/v1", "names no model"),
        ("openai:m@ftp://h", "not an http\\(s\\) URL"),
        ("openai:m@localhost:8000", "not an http\\(s\\) URL"),
    ],
)
def test_bad_specs_say_what_to_write(spec, message):
    with pytest.raises(ModelSpecError, match=message):
        parse_model_spec(spec)


def test_missing_gguf_path(tmp_path):
    with pytest.raises(ConfigError, match="no GGUF file at"):
        load_model(f"gguf:{tmp_path / 'missing.gguf'}")


def test_a_file_that_is_not_gguf(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ConfigError, match="is not a GGUF model file"):
        load_model(f"gguf:{fake}")


@pytest.mark.slow
def test_gguf_path_loads_the_same_weights(embedded_model):
    model = load_model(f"gguf:{embedded_model.path}")
    assert isinstance(model, LlamaCppModel) and model.llama is embedded_model.llama


def test_openai_without_key_or_url_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="set OPENAI_API_KEY"):
        load_model("openai:gpt-4o-mini")


def test_openai_url_and_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = load_model("openai:m")
    assert model.base_url == "http://127.0.0.1:9/v1"
    assert model.name == "openai:m@http://127.0.0.1:9/v1"
