"""The merged-weights cache: a hot stack runs on merged base weights that equal the unmerged adapters, switching
between hot stacks is a pointer swap, and the base model's own generation still sees the plain base weights."""

from __future__ import annotations

import time

import torch

from inference.runtime import DirectorySource
from tests.inference.runtime.conftest import PROMPT, logits_of, managed

STACK = [("task", 1.0), ("brand", 0.5), ("retailer", 1.0)]
OTHER = [("extra", 1.0), ("task", -0.5)]


def test_a_hot_stack_runs_merged_weights_equal_to_the_unmerged_adapters(base_model, adapter_dir, base_logits):
    with managed(base_model, DirectorySource(adapter_dir), hot_after=2) as manager:
        # given the stack's first use, unmerged
        assert manager.activate(STACK) is False
        unmerged = logits_of(base_model)

        # when it is used again
        merged_now = manager.activate(STACK)
        merged = logits_of(base_model)

        # then its merged weights are in place, they compute what the adapters computed, and none is active
        assert merged_now is True
        assert manager.stats()["merged_stacks"] == [[["brand", 0.5], ["retailer", 1.0], ["task", 1.0]]]
        assert (merged - unmerged).abs().max().item() < 1e-3
        assert (merged - base_logits).abs().max().item() > 1e-2
        assert all(layer.disable_adapters for layer in _lora_layers(base_model))


def test_switching_between_hot_stacks_is_fast_and_exact(base_model, adapter_dir, base_logits):
    with managed(base_model, DirectorySource(adapter_dir), hot_after=1) as manager:
        # given two hot stacks
        manager.activate(STACK)
        first = logits_of(base_model)
        manager.activate(OTHER)
        second = logits_of(base_model)

        # when switching back and forth
        started = time.perf_counter()
        manager.activate(STACK)
        switch_seconds = time.perf_counter() - started
        again_first = logits_of(base_model)
        manager.activate(OTHER)
        again_second = logits_of(base_model)
        manager.activate([])

        # then each switch is a pointer swap giving the same output, and the empty stack is the exact base
        assert switch_seconds < 0.02
        assert torch.equal(first, again_first)
        assert torch.equal(second, again_second)
        assert torch.equal(logits_of(base_model), base_logits)


def test_base_generation_between_stacks_uses_the_base_weights(base_model, adapter_dir):
    # given the base model's reply before any manager
    before = base_model.generate(prompt=PROMPT, max_new_tokens=6)

    with managed(base_model, DirectorySource(adapter_dir), hot_after=1) as manager:
        # when a merged stack serves a request, then the base model is asked directly
        served = manager.generate(prompt=PROMPT, max_new_tokens=6, stack=STACK)
        plain = base_model.generate(prompt=PROMPT, max_new_tokens=6)
        served_again = manager.generate(prompt=PROMPT, max_new_tokens=6, stack=STACK)

    # then the base reply is unchanged and the stack's reply comes back the same after it
    assert served["merged"] is True
    assert plain["text"] == before["text"]
    assert served_again["text"] == served["text"]


def test_the_merged_cache_keeps_to_its_budget(base_model, adapter_dir):
    with managed(base_model, DirectorySource(adapter_dir), hot_after=1) as manager:
        # given room for one merged stack
        manager.activate(STACK)
        one_stack = manager.stats()["merged_bytes"]
        manager.merged_budget_bytes = one_stack

        # when another stack gets hot
        assert manager.activate(OTHER) is True

        # then the older one was dropped, and a stack that could never fit stays unmerged
        assert manager.stats()["merged_stacks"] == [[["extra", 1.0], ["task", -0.5]]]
        manager.merged_budget_bytes = one_stack // 2
        assert manager.activate(["brand"]) is False


def _lora_layers(base_model):
    from peft.tuners.lora import LoraLayer

    return [module for module in base_model.model.modules() if isinstance(module, LoraLayer)]
