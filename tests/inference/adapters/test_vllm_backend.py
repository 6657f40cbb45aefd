"""The vLLM backend against a fake OpenAI-compatible server (the outside border): a registry stack is verified,
merged into one LoRA once, registered at runtime and served by its module name; server failures map to VllmError and
context overflows to PromptTooLongRemote."""

from __future__ import annotations

import json
import math
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from django.conf import settings
from safetensors.numpy import load

from inference.adapters.artifacts import ArtifactTampered, load_verified
from inference.adapters.models import CONFIG_FILE, MODEL_FILE
from inference.backends.vllm import FAILED, UNREACHABLE, PromptTooLongRemote, VllmBackend, VllmError, lora_module_name
from tests.conftest import audit_rows
from tests.inference.adapters.builders import adapter_made

LOAD, CHAT = "/v1/load_lora_adapter", "/v1/chat/completions"
TOO_LONG = ("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens "
            "(8000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.")


class FakeVllm(ThreadingHTTPServer):
    """Answers as vLLM does: runtime LoRA registration, and chat completions for the base or a registered LoRA.
    `answers[path] = (status, body)` overrides one path; `requests` records (path, headers, json body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict, dict]] = []
        self.answers: dict[str, tuple[int, str]] = {}
        self.loaded: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]


def _error(message: str, code: int) -> tuple[int, str]:
    return code, json.dumps({"object": "error", "message": message, "type": "BadRequestError", "param": None,
                             "code": code})


class _Handler(BaseHTTPRequestHandler):
    server: FakeVllm

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append((self.path, dict(self.headers), body))
        if self.path in self.server.answers:
            status, text = self.server.answers[self.path]
        elif self.path == LOAD and body["lora_name"] in self.server.loaded:
            status, text = _error(f"The lora adapter '{body['lora_name']}' has already been loaded.", 400)
        elif self.path == LOAD:
            self.server.loaded.add(body["lora_name"])
            status, text = 200, f"Success: LoRA adapter '{body['lora_name']}' added successfully."
        elif body["model"] != settings.RMN_BASE_MODEL and body["model"] not in self.server.loaded:
            status, text = _error(f"The model `{body['model']}` does not exist.", 404)
        else:
            status, text = 200, json.dumps({
                "id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": f"from {body['model']}"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28}})
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_vllm():
    server = FakeVllm()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def lora_dir(tmp_path):
    return tmp_path / "vllm-loras"


@pytest.fixture
def backend(fake_vllm, lora_dir):
    return VllmBackend(base_url=fake_vllm.url, model=settings.RMN_BASE_MODEL, lora_dir=lora_dir, api_key="sk-test")


@pytest.fixture
def stack(acme, megamart, platform):
    return [(adapter_made(megamart, name="megamart-voice"), 1.0), (adapter_made(acme, name="acme-voice", rank=2), 0.5),
            (adapter_made(platform, name="ad-copy", task="ad_copy", rank=8), 0.8)]


def _deltas(config: dict, data: bytes, weight: float = 1.0) -> dict[str, np.ndarray]:
    tensors = load(data)
    scaling = weight * config["lora_alpha"] / (math.sqrt(config["r"]) if config.get("use_rslora") else config["r"])
    return {name.removesuffix(".lora_A.weight"): scaling * (tensors[name.replace("lora_A", "lora_B")].astype(np.float64)
                                                            @ tensors[name].astype(np.float64))
            for name in tensors if name.endswith(".lora_A.weight")}


def _assert_folder_merges(folder, stack) -> None:
    expected: dict[str, np.ndarray] = {}
    for adapter, weight in stack:
        files = load_verified(adapter)
        for module, delta in _deltas(json.loads(files[CONFIG_FILE]), files[MODEL_FILE], weight).items():
            expected[module] = expected.get(module, 0) + delta
    merged = _deltas(json.loads((folder / CONFIG_FILE).read_text()), (folder / MODEL_FILE).read_bytes())
    assert sorted(merged) == sorted(expected)
    for module, delta in expected.items():
        assert np.allclose(merged[module], delta, atol=1e-5), module


def _generate(backend, stack, **terms) -> dict:
    return backend.generate(prompt=terms.pop("prompt", "Write a tagline for oat milk."),
                            system=terms.pop("system", "You write retail ad copy."),
                            max_new_tokens=terms.pop("max_new_tokens", 64), stack=stack, **terms)


def test_a_stack_is_merged_once_registered_and_served_by_its_module_name(backend, fake_vllm, lora_dir, stack):
    # when the same stack is served twice
    first = _generate(backend, stack, actor="worker:test")
    second = _generate(backend, stack, max_new_tokens=32)

    # then it was merged and registered once, and both completions name the merged module
    name = lora_module_name(stack)
    assert name.startswith("rmn-") and len(name) == 20
    assert fake_vllm.paths() == [LOAD, CHAT, CHAT]
    assert fake_vllm.requests[0][2] == {"lora_name": name, "lora_path": str(lora_dir / name)}
    messages = [{"role": "system", "content": "You write retail ad copy."},
                {"role": "user", "content": "Write a tagline for oat milk."}]
    assert [body for _, _, body in fake_vllm.requests[1:]] == [
        {"model": name, "messages": messages, "max_tokens": 64, "temperature": 0},
        {"model": name, "messages": messages, "max_tokens": 32, "temperature": 0}]
    assert {headers["Authorization"] for _, headers, _ in fake_vllm.requests} == {"Bearer sk-test"}
    # and the result maps the answer and its usage
    for result in (first, second):
        seconds = result.pop("seconds")
        assert seconds > 0
        assert result.pop("tokens_per_second") == pytest.approx(7 / seconds)
        assert result == {"text": f"from {name}", "prompt_tokens": 21, "completion_tokens": 7,
                          "model": settings.RMN_BASE_MODEL, "backend": "vllm", "lora_module": name}
    # and the one folder written (no staging left behind) holds the exact merge
    assert [path.name for path in lora_dir.iterdir()] == [name]
    assert json.loads((lora_dir / name / CONFIG_FILE).read_text())["r"] == 4 + 2 + 8
    _assert_folder_merges(lora_dir / name, stack)


def test_the_module_name_depends_on_adapters_versions_and_weights(stack):
    assert lora_module_name(stack) == lora_module_name(list(stack))
    assert lora_module_name(stack) != lora_module_name([*stack[:2], (stack[2][0], 0.9)])
    assert lora_module_name(stack) != lora_module_name(stack[::-1])
    assert lora_module_name([]) is None


def test_a_single_adapter_keeps_its_config(backend, lora_dir, acme):
    adapter = adapter_made(acme, name="acme-voice")

    result = _generate(backend, [(adapter, 0.6)])

    folder = lora_dir / result["lora_module"]
    assert json.loads((folder / CONFIG_FILE).read_text()) == json.loads(load_verified(adapter)[CONFIG_FILE])
    _assert_folder_merges(folder, [(adapter, 0.6)])


def test_an_empty_stack_asks_for_the_base_model(backend, fake_vllm, lora_dir):
    result = _generate(backend, [], system=None)

    assert fake_vllm.paths() == [CHAT]
    assert fake_vllm.requests[0][2] == {"model": settings.RMN_BASE_MODEL, "max_tokens": 64, "temperature": 0,
                                        "messages": [{"role": "user", "content": "Write a tagline for oat milk."}]}
    assert (result["text"], result["lora_module"], result["model"]) == (
        f"from {settings.RMN_BASE_MODEL}", None, settings.RMN_BASE_MODEL)
    assert not lora_dir.exists()


def test_a_tampered_artifact_is_refused_and_nothing_reaches_the_server(backend, fake_vllm, lora_dir, stack, acme,
                                                                        adapter_store):
    # given the brand adapter's stored weights with one byte flipped
    tampered = stack[1][0]
    path = adapter_store / str(tampered.pk) / f"{MODEL_FILE}.enc"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    # when the stack is served
    with pytest.raises(ArtifactTampered):
        _generate(backend, stack, actor="worker:test")

    # then nothing was written or sent, and the refusal is in the owner's audit log
    assert fake_vllm.requests == []
    assert not lora_dir.exists() or list(lora_dir.iterdir()) == []
    [row] = audit_rows(acme, action="adapter.tampered", object_id=str(tampered.pk))
    assert row.actor == "worker:test"


def test_a_module_the_server_already_holds_is_not_an_error(fake_vllm, tmp_path, stack):
    # given two workers with their own disks, talking to one server
    for folder in ("one", "two"):
        worker = VllmBackend(base_url=fake_vllm.url, model=settings.RMN_BASE_MODEL, lora_dir=tmp_path / folder)
        result = _generate(worker, stack)
        assert result["lora_module"] == lora_module_name(stack)

    # then the second registration was answered "already loaded" and counted as done; no key, no auth header
    assert fake_vllm.paths() == [LOAD, CHAT, LOAD, CHAT]
    assert all("Authorization" not in headers for _, headers, _ in fake_vllm.requests)


def test_a_server_that_forgot_the_module_gets_it_again(backend, fake_vllm, stack):
    # given a stack served once, and a server restarted since
    _generate(backend, stack)
    fake_vllm.loaded.clear()

    result = _generate(backend, stack)

    # then the unknown model answer re-registers the folder written before, and the request is retried
    assert fake_vllm.paths() == [LOAD, CHAT, CHAT, LOAD, CHAT]
    assert result["text"] == f"from {lora_module_name(stack)}"


def test_a_server_error_raises_vllm_error_with_its_status(backend, fake_vllm):
    fake_vllm.answers[CHAT] = (500, "Internal Server Error: engine dead")

    with pytest.raises(VllmError) as caught:
        _generate(backend, [])

    assert caught.value.status == 500
    assert str(caught.value) == FAILED.format(status=500, path=CHAT, body="Internal Server Error: engine dead")


def test_a_context_overflow_raises_prompt_too_long_remote(backend, fake_vllm, stack):
    fake_vllm.answers[CHAT] = _error(TOO_LONG, 400)

    with pytest.raises(PromptTooLongRemote) as caught:
        _generate(backend, stack, max_new_tokens=1000)

    assert str(caught.value) == TOO_LONG
    assert isinstance(caught.value, ValueError)


def test_an_unreachable_server_raises_vllm_error(lora_dir):
    # given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = VllmBackend(base_url=f"http://127.0.0.1:{port}", model=settings.RMN_BASE_MODEL, lora_dir=lora_dir,
                          timeout_s=5)

    with pytest.raises(VllmError) as caught:
        _generate(backend, [])

    assert caught.value.status is None
    assert str(caught.value).startswith(UNREACHABLE.format(url=f"http://127.0.0.1:{port}", reason="")[:-1])


def test_only_http_urls_are_accepted(lora_dir):
    with pytest.raises(ValueError, match="base_url must be an http"):
        VllmBackend(base_url="file:///etc/passwd", model="m", lora_dir=lora_dir)
