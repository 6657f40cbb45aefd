"""Composition: an additive stack is PEFT's exact `cat` combination of its adapters; a sequential chain runs its
steps in order, each on the previous step's output with its own stack."""

from __future__ import annotations

import pytest

from inference.runtime import InvalidStack, Step, normalize_stack
from inference.runtime.composition import (
    ADDITIVE_TAKES_NO_STEPS,
    BAD_WEIGHT,
    DUPLICATE_ADAPTER,
    SEQUENTIAL_NEEDS_STEPS,
    SEQUENTIAL_TAKES_NO_STACK,
    UNKNOWN_COMPOSITION,
)
from tests.inference.runtime.conftest import logits_of

STACK = [("task", 1.0), ("brand", 0.5), ("retailer", -0.3)]


def test_an_additive_stack_equals_pefts_cat_combination(manager, base_model, base_logits):
    # given the three adapters loaded, and PEFT's exact `cat` combination of them with the stack's weights
    for adapter_id, _ in STACK:
        manager.load(adapter_id)
    with base_model.lock:
        manager.peft_model.base_model.add_weighted_adapter(
            adapters=[manager.adapter_name(adapter_id) for adapter_id, _ in STACK],
            weights=[weight for _, weight in STACK],
            adapter_name="cat",
            combination_type="cat",
        )

    # when the stack runs as adapters active together, then as the one combined adapter
    assert manager.activate(STACK) is False
    additive = logits_of(base_model)
    with base_model.lock:
        manager.peft_model.base_model.set_adapter("cat")
    combined = logits_of(base_model)

    # then the two agree, and the stack really changes the output
    assert (additive - combined).abs().max().item() < 1e-4
    assert (additive - base_logits).abs().max().item() > 1e-2


def test_the_weights_of_a_stack_matter(manager, base_model):
    # given
    manager.activate([("task", 1.0), ("brand", 1.0)])
    full = logits_of(base_model)

    # when
    manager.activate([("task", 1.0), ("brand", 0.25)])
    partial = logits_of(base_model)

    # then
    assert (full - partial).abs().max().item() > 1e-3


def test_sequential_composition_runs_its_steps_in_order(manager):
    # given a draft, rewrite and check chain, each step with its own stack
    steps = [
        Step(instruction="Write a short tagline for the product.", stack=["task"]),
        Step(instruction="Rewrite the text in a warm, friendly voice.", stack=[("brand", 1.0), ("task", 0.5)]),
        Step(instruction="Check the text against the retailer's rules.", stack=["retailer"], max_new_tokens=3),
    ]

    # when
    result = manager.generate(prompt="Oat milk", max_new_tokens=5, composition="sequential", steps=steps)

    # then every step read the previous step's output and ran its own stack
    records = result["steps"]
    assert [record["instruction"] for record in records] == [step.instruction for step in steps]
    assert [record["stack"] for record in records] == [
        [["task", 1.0]], [["brand", 1.0], ["task", 0.5]], [["retailer", 1.0]]
    ]
    assert records[0]["input"] == "Oat milk"
    assert records[1]["input"] == records[0]["text"]
    assert records[2]["input"] == records[1]["text"]
    assert result["text"] == records[2]["text"]
    assert records[2]["completion_tokens"] <= 3
    assert result["completion_tokens"] == sum(record["completion_tokens"] for record in records)
    # and each recorded output is what that step alone produces from its input
    for step, record in zip(steps, records, strict=True):
        alone = manager.generate(
            prompt=record["input"], stack=step.stack, system=step.instruction,
            max_new_tokens=step.max_new_tokens or 5,
        )
        assert alone["text"] == record["text"]


def test_malformed_stacks_and_compositions_are_refused(manager):
    with pytest.raises(InvalidStack, match=DUPLICATE_ADAPTER.format(adapter_id="task")):
        manager.activate(["task", ("task", 0.5)])
    with pytest.raises(InvalidStack) as caught:
        manager.activate([("task", float("nan"))])
    assert str(caught.value) == BAD_WEIGHT.format(adapter_id="task", weight=float("nan"))
    with pytest.raises(ValueError, match=SEQUENTIAL_NEEDS_STEPS):
        manager.generate(prompt="Hi", max_new_tokens=2, composition="sequential")
    with pytest.raises(ValueError, match=SEQUENTIAL_TAKES_NO_STACK):
        manager.generate(prompt="Hi", max_new_tokens=2, composition="sequential", stack=["task"],
                         steps=[Step(instruction="Go.")])
    with pytest.raises(ValueError, match=ADDITIVE_TAKES_NO_STEPS):
        manager.generate(prompt="Hi", max_new_tokens=2, steps=[Step(instruction="Go.")])
    with pytest.raises(ValueError) as caught:
        manager.generate(prompt="Hi", max_new_tokens=2, composition="parallel")
    assert str(caught.value) == UNKNOWN_COMPOSITION.format(composition="parallel")
    assert manager.stats()["loaded"] == []


def test_equal_stacks_in_any_order_share_one_key():
    assert normalize_stack(["b", ("a", 2)]) == normalize_stack([("a", 2.0), "b"]) == (("a", 2.0), ("b", 1.0))
    assert normalize_stack([]) == ()
