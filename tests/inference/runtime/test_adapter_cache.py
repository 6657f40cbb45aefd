"""AdapterManager loading: LRU eviction under the memory budget with pinning, unload, verification, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from inference.runtime import (
    AdapterBudgetExceeded,
    AdapterFiles,
    AdapterManager,
    AdapterNotFound,
    AdapterUnsupported,
    AdapterUnverified,
    DirectorySource,
    adapter_digest,
    sha256_verifier,
)
from inference.runtime.adapter_cache import ALREADY_MANAGED, BUDGET_EXCEEDED, MANAGER_CLOSED
from inference.runtime.adapter_loading import UNSUPPORTED_ADAPTER
from inference.runtime.adapter_source import ADAPTER_NOT_FOUND, ADAPTER_UNVERIFIED, CONFIG_FILE, WEIGHTS_FILE
from tests.inference.runtime.conftest import GIB, logits_of, managed


def _adapter_bytes(manager: AdapterManager, adapter_id: str) -> int:
    before = manager.stats()["adapter_bytes"]
    manager.load(adapter_id)
    return manager.stats()["adapter_bytes"] - before


def test_lru_eviction_under_the_budget_spares_pinned_adapters(manager):
    # given room for exactly two adapters, one of them pinned
    size = _adapter_bytes(manager, "task")
    manager.unload("task")
    manager.memory_budget_bytes = 2 * size
    manager.pin("task")
    manager.load("brand")

    # when a third adapter is loaded, then a fourth
    manager.load("retailer")
    after_third = manager.stats()["loaded"]
    manager.load("extra")

    # then the least recently used unpinned adapter went each time, never the pinned one
    assert after_third == ["task", "retailer"]
    assert manager.stats()["loaded"] == ["task", "extra"]
    assert manager.stats()["pinned"] == ["task"]
    assert manager.stats()["adapter_bytes"] == 2 * size


def test_using_an_adapter_makes_it_recently_used(manager):
    # given two adapters in a budget for two, the older one used again
    size = _adapter_bytes(manager, "task")
    manager.memory_budget_bytes = 2 * size
    manager.load("brand")
    manager.activate(["task"])

    # when a third comes in
    manager.load("retailer")

    # then the one not used since went
    assert manager.stats()["loaded"] == ["task", "retailer"]


def test_a_budget_full_of_pinned_adapters_refuses_another(manager):
    # given two pinned adapters filling the budget
    size = _adapter_bytes(manager, "task")
    manager.memory_budget_bytes = 2 * size
    manager.pin("task")
    manager.pin("brand")

    # when / then
    with pytest.raises(AdapterBudgetExceeded) as caught:
        manager.load("retailer")
    assert str(caught.value) == BUDGET_EXCEEDED.format(
        budget=2 * size, adapter_id="retailer", needed=size, held=2 * size
    )
    assert manager.stats()["loaded"] == ["task", "brand"]


def test_unload_restores_the_base_output_exactly(manager, base_model, base_logits):
    # given a stack of two adapters in use, which changes the output
    manager.activate(["task", ("brand", 0.5)])
    assert (logits_of(base_model) - base_logits).abs().max() > 1e-2

    # when both are unloaded
    assert manager.unload("task") is True
    after_first = logits_of(base_model)
    assert manager.unload("brand") is True

    # then the model computes exactly what it computed before any adapter
    assert torch.equal(after_first, base_logits)
    assert torch.equal(logits_of(base_model), base_logits)
    assert manager.stats()["loaded"] == []
    assert manager.unload("brand") is False


def test_close_gives_the_base_model_back_unwrapped(base_model, adapter_dir, base_logits):
    # given a manager that served a stack
    manager = AdapterManager(base_model, DirectorySource(adapter_dir), memory_budget_bytes=GIB, hot_after=1)
    assert manager.activate(["task"]) is True  # merged weights in place

    # when
    manager.close()

    # then the plain modules and the plain output are back, a new manager may take the model, this one is done
    assert type(base_model.model.model.layers[0].self_attn.q_proj) is torch.nn.Linear
    assert torch.equal(logits_of(base_model), base_logits)
    assert base_model.before_base_generation is None
    with pytest.raises(RuntimeError, match=MANAGER_CLOSED):
        manager.activate(["task"])


def test_one_base_model_takes_one_manager(manager, base_model, adapter_dir):
    with pytest.raises(RuntimeError, match=ALREADY_MANAGED):
        AdapterManager(base_model, DirectorySource(adapter_dir), memory_budget_bytes=GIB)


def test_an_unknown_adapter_in_a_stack_is_a_clear_error(manager):
    # when / then
    with pytest.raises(AdapterNotFound) as caught:
        manager.generate(prompt="Hi", max_new_tokens=2, stack=["task", "no-such-adapter"])
    assert str(caught.value) == ADAPTER_NOT_FOUND.format(adapter_id="no-such-adapter")
    with pytest.raises(AdapterNotFound):
        manager.load("../task")  # an id never reaches outside the source's folder


def test_verification_refuses_altered_files(base_model, adapter_dir, tmp_path):
    # given a digest on record for "task", and a copy of "brand" whose weights were altered after publishing
    source = DirectorySource(adapter_dir)
    digests = {adapter_id: adapter_digest(source.files(adapter_id)) for adapter_id in ("task", "brand")}
    files = source.files("brand")
    altered = bytearray(files.weights)
    altered[-1] ^= 0x01

    class AlteredSource:
        def files(self, adapter_id: str) -> AdapterFiles:
            return AdapterFiles(files.config, bytes(altered)) if adapter_id == "brand" else source.files(adapter_id)

    with managed(base_model, AlteredSource(), verify=sha256_verifier(digests)) as manager:
        # when / then: the intact one loads, the altered one and one with no digest on record are refused
        manager.load("task")
        with pytest.raises(AdapterUnverified) as caught:
            manager.load("brand")
        assert str(caught.value) == ADAPTER_UNVERIFIED.format(adapter_id="brand", reason="sha256 mismatch")
        with pytest.raises(AdapterUnverified, match="no digest on record"):
            manager.load("retailer")
        assert manager.stats()["loaded"] == ["task"]


def test_an_adapter_outside_plain_lora_is_refused(base_model, adapter_dir, tmp_path):
    # given a copy of "task" whose config asks for DoRA
    folder = tmp_path / "dora"
    folder.mkdir()
    config = json.loads((adapter_dir / "task" / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "use_dora": True}))
    (folder / WEIGHTS_FILE).write_bytes((adapter_dir / "task" / WEIGHTS_FILE).read_bytes())

    with managed(base_model, DirectorySource(tmp_path)) as manager:
        # when / then
        with pytest.raises(AdapterUnsupported) as caught:
            manager.load("dora")
        assert str(caught.value) == UNSUPPORTED_ADAPTER.format(
            adapter_id="dora", reason="unsupported options ['use_dora']"
        )
        assert manager.stats()["loaded"] == []


def test_the_fast_loader_equals_pefts_own_load_adapter(manager, base_model, adapter_dir: Path):
    # given "task" attached by the manager, and the same files loaded by PEFT's load_adapter
    manager.activate(["task"])
    ours = logits_of(base_model)
    with base_model.lock:
        manager.peft_model.load_adapter(str(adapter_dir / "task"), adapter_name="peft_task")
        manager.peft_model.base_model.set_adapter("peft_task")

    # when
    theirs = logits_of(base_model)

    # then
    assert torch.equal(ours, theirs)
