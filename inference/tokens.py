"""Counting prompt tokens in the web process, so a prompt that cannot fit the context window is a 400 at once
rather than a failed job. It reads the served model's tokenizer.json with the `tokenizers` library (Rust, no torch).

The count leaves out the chat template's few tokens, so it only refuses what cannot fit whatever the template adds;
the gpu worker checks the exact templated length and fails the job with the same code when a prompt is right at
the limit. Before the worker has cached the model (first start) the check is skipped.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from inference.base_models import EMBEDDED_MODELS, model_dir, served_base_model
from rmn_saas.errors import ApiError

PROMPT_TOO_LONG = ("The prompt is {prompt_tokens} tokens; with max_new_tokens={max_new_tokens} it exceeds the "
                   "{context_window}-token context window of {model}.")

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _tokenizer(path: str, mtime: float):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def context_window(folder: Path, name: str) -> int | None:
    if name in EMBEDDED_MODELS:
        return EMBEDDED_MODELS[name].context_window
    try:
        return int(json.loads((folder / "config.json").read_text())["max_position_embeddings"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def count_tokens(texts: list[str]) -> int | None:
    """Tokens of the texts under the served model's tokenizer, or None when its tokenizer is not cached yet."""
    folder = model_dir(served_base_model(), settings.RMN_MODEL_CACHE_DIR)
    path = folder / "tokenizer.json"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    with _lock:
        tokenizer = _tokenizer(str(path), mtime)
        return sum(len(tokenizer.encode(text, add_special_tokens=False).ids) for text in texts if text)


def check_context_window(*, prompt: str, system: str | None, max_new_tokens: int) -> None:
    """ApiError 400 `prompt_too_long` with the limit, when prompt + system + max_new_tokens cannot fit."""
    name = served_base_model()
    window = context_window(model_dir(name, settings.RMN_MODEL_CACHE_DIR), name)
    prompt_tokens = count_tokens([system or "", prompt])
    if window is None or prompt_tokens is None or prompt_tokens + max_new_tokens <= window:
        return
    raise ApiError(
        status_code=400, code="prompt_too_long",
        message=PROMPT_TOO_LONG.format(prompt_tokens=prompt_tokens, max_new_tokens=max_new_tokens,
                                       context_window=window, model=name),
        details={"prompt_tokens": prompt_tokens, "max_new_tokens": max_new_tokens, "context_window": window},
    )
