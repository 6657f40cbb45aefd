"""A backend that serves adapter stacks from a vLLM OpenAI-compatible server: a stack is merged into one LoRA
(`lora_merge.cat_merge`, exact), written under `lora_dir` once, and registered with the server at runtime.

Start the server with runtime LoRA loading, a rank that covers the merged stacks (Σ r_i) and room for hot stacks:

    VLLM_ALLOW_RUNTIME_LORA_UPDATING=True vllm serve <base model> --enable-lora --max-lora-rank 64 --max-loras 8

`lora_dir` must be readable by the server at the same path (a shared volume). The merged folders hold decrypted
tenant weights and are written 0700, so run vLLM as the worker's user. No torch here; this cannot be exercised in
this repository's tests against a real server (they use a fake one at the HTTP border).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from inference.adapters.artifacts import load_verified
from inference.adapters.lora_merge import cat_merge
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter

BAD_URL = "base_url must be an http(s) URL, not {url!r}"
UNREACHABLE = "vLLM at {url} is unreachable: {reason}"
FAILED = "vLLM answered {status} to {path}: {body}"
UNEXPECTED = "vLLM's answer to {path} is not a chat completion: {body}"
EXCERPT_CHARS = 300


class VllmError(RuntimeError):
    """The server could not be reached or refused the request; `status` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status, self.body = status, body


class PromptTooLongRemote(ValueError):
    """The server says the prompt and max_tokens overflow its context window."""


def lora_module_name(stack: list[tuple[Adapter, float]]) -> str | None:
    """The served name of a stack: the same stack (ids, versions, file hashes, weights) always gets the same name."""
    if not stack:
        return None
    key = [[adapter.pk, adapter.version, adapter.model_sha256, adapter.config_sha256, float(weight)]
           for adapter, weight in stack]
    return "rmn-" + hashlib.sha256(json.dumps(key, separators=(",", ":")).encode()).hexdigest()[:16]


class VllmBackend:
    def __init__(self, *, base_url: str, model: str, lora_dir: Path, api_key: str = "", timeout_s: float = 120) -> None:
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(BAD_URL.format(url=base_url))
        self.base_url, self.model, self.lora_dir = base_url.rstrip("/"), model, Path(lora_dir)
        self.timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {api_key}"} if api_key
                                                                else {})}

    def generate(self, *, prompt: str, system: str | None, max_new_tokens: int, stack: list[tuple[Adapter, float]],
                 actor: str = "system") -> dict:
        name = self.lora_module(stack, actor=actor)
        messages = [{"role": "system", "content": system}] if system else []
        body = {"model": name or self.model, "messages": [*messages, {"role": "user", "content": prompt}],
                "max_tokens": max_new_tokens, "temperature": 0}
        path = "/v1/chat/completions"
        started = time.perf_counter()
        try:
            raw = self._post(path, body)
        except VllmError as exc:
            # Unknown model: the server restarted, or another worker wrote the folder and has not registered it yet.
            if name is None or exc.status != 404:
                raise
            self._register(name)
            raw = self._post(path, body)
        seconds = time.perf_counter() - started
        try:
            answer = json.loads(raw)
            text = answer["choices"][0]["message"]["content"]
            usage = answer.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            raise VllmError(UNEXPECTED.format(path=path, body=raw[:EXCERPT_CHARS].decode("utf-8", "replace"))) from None
        completion_tokens = int(usage.get("completion_tokens", 0))
        return {"text": text or "", "prompt_tokens": int(usage.get("prompt_tokens", 0)),
                "completion_tokens": completion_tokens, "seconds": seconds,
                "tokens_per_second": completion_tokens / seconds if seconds > 0 else 0.0,
                "model": self.model, "backend": "vllm", "lora_module": name}

    def lora_module(self, stack: list[tuple[Adapter, float]], *, actor: str = "system") -> str | None:
        """The stack's served name, after merging, writing and registering it if this is its first use here."""
        name = lora_module_name(stack)
        if name is None or (self.lora_dir / name).is_dir():
            return name
        parts = []
        for adapter, weight in stack:
            files = load_verified(adapter, actor=actor)  # checks signature and hashes; raises ArtifactTampered
            parts.append((json.loads(files[CONFIG_FILE]), files[MODEL_FILE], float(weight)))
        config, weights = cat_merge(parts)
        self._write(name, config, weights)
        self._register(name)
        return name

    def _write(self, name: str, config: dict, weights: bytes) -> None:
        self.lora_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.lora_dir))
        try:
            (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2))
            (staging / MODEL_FILE).write_bytes(weights)
            os.replace(staging, self.lora_dir / name)
        except OSError:
            if not (self.lora_dir / name).is_dir():  # otherwise another worker wrote the same stack first
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _register(self, name: str) -> None:
        try:
            self._post("/v1/load_lora_adapter", {"lora_name": name, "lora_path": str(self.lora_dir / name)})
        except VllmError as exc:
            if exc.status != 400 or "already" not in exc.body.lower():
                raise

    def _post(self, path: str, payload: dict) -> bytes:
        request = urllib.request.Request(self.base_url + path, data=json.dumps(payload).encode(),  # noqa: S310
                                         headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (scheme checked)
                return response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            if exc.code == 400 and "context length" in body.lower():
                raise PromptTooLongRemote(_server_message(body)) from None
            raise VllmError(FAILED.format(status=exc.code, path=path, body=body[:EXCERPT_CHARS]), status=exc.code,
                            body=body) from None
        except OSError as exc:  # refused, reset, DNS, timeout (URLError and TimeoutError are OSErrors)
            raise VllmError(UNREACHABLE.format(url=self.base_url, reason=getattr(exc, "reason", exc))) from None


def _server_message(body: str) -> str:
    """The `message` of an OpenAI-style error body ({"message": ...} or {"error": {"message": ...}}), else the body."""
    try:
        error = json.loads(body)
        error = error.get("error", error) if isinstance(error, dict) else {}
        return str(error.get("message") or body) if isinstance(error, dict) else body
    except ValueError:
        return body[:EXCERPT_CHARS]
