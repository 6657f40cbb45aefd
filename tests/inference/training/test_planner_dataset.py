"""The planner's training data: objectives in many phrasings, each with the allocate_budget call it means; a
held-out set from sentence frames training never uses; and the checks that refuse small or leaking datasets."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from campaigns.plans.objectives import (
    HELD_OUT_FRAMES,
    TRAIN_FRAMES,
    call_json,
    canonical_arguments,
    objective_example,
    objective_set,
)
from campaigns.plans.request import plan_request_from_dict
from inference.training.datasets import DatasetInvalid, build_dataset, dataset_check


def test_every_call_is_a_valid_plan_request_whose_numbers_appear_in_the_text():
    for objective in objective_set(held_out=False, n=300, seed=3) + objective_set(held_out=True, n=100, seed=4):
        request = plan_request_from_dict(objective.call["arguments"])
        # the budget is stated in the text in one of its forms (exact dollars, thousands or millions)
        budget = int(request.budget)
        forms = {f"{budget:,}", str(budget), f"{budget / 1000:g}", f"{budget / 1_000_000:g}"}
        assert any(form in objective.text for form in forms), (objective.text, budget)
        if request.min_roas is not None:
            assert f"{request.min_roas:g}" in objective.text


def test_amounts_and_constraints_come_in_many_phrasings():
    texts = [o.text for o in objective_set(held_out=False, n=400, seed=5)]
    for phrase in ("million", "k ", "$", "ROAS", "reserve", "CPA", "stock", "weeks", "days", "only"):
        assert any(phrase in text for text in texts), phrase
    # and the same meaning is written differently: 400 draws give (nearly) 400 different sentences
    assert len(set(texts)) > 390


def test_train_and_held_out_frames_never_meet():
    train = objective_set(held_out=False, n=200, seed=1)
    held_out = objective_set(held_out=True, n=100, seed=2)
    assert {o.frame for o in train} == set(TRAIN_FRAMES)
    assert {o.frame for o in held_out} == set(HELD_OUT_FRAMES)
    assert not set(TRAIN_FRAMES) & set(HELD_OUT_FRAMES)


def test_the_completion_is_compact_json_in_schema_order_and_scores_by_meaning():
    import random

    objective = objective_example(random.Random(9), "t-allocate")
    text = call_json(objective.call["arguments"])
    assert json.loads(text) == objective.call["arguments"]
    assert list(json.loads(text))[:2] == ["budget", "objective"] and " " not in text.replace("\" ", "")
    # exact match compares meaning: formatting differences do not count, a wrong number does
    same = {**objective.call["arguments"], "budget": objective.call["arguments"]["budget"] + ".00"}
    assert canonical_arguments(same) == canonical_arguments(objective.call["arguments"])
    wrong = {**objective.call["arguments"], "budget": str(int(objective.call["arguments"]["budget"]) + 1000)}
    assert canonical_arguments(wrong) != canonical_arguments(objective.call["arguments"])
    assert canonical_arguments({"objective": "margin"}) is None  # no budget: not a valid call
    assert canonical_arguments({"budget": "10", "objective": "margin"})["budget"] == Decimal("10.00")


def test_a_dataset_too_small_to_learn_from_or_to_measure_on_is_refused():
    with pytest.raises(DatasetInvalid, match="10 training examples; at least 50") as small:
        build_dataset(kind="task", name="planner", n_train=10, n_held_out=50, seed=0)
    assert small.value.code == "too_few_examples"
    with pytest.raises(DatasetInvalid, match="5 held-out examples; at least 20"):
        build_dataset(kind="task", name="planner", n_train=60, n_held_out=5, seed=0)


def test_a_held_out_set_that_leaks_into_training_is_refused():
    data = build_dataset(kind="task", name="planner", n_train=60, n_held_out=20, seed=0)

    # a shared sentence frame
    data.held_out_templates.add("t-allocate")
    with pytest.raises(DatasetInvalid, match="share templates with training: t-allocate") as shared:
        dataset_check(data)
    assert shared.value.code == "leakage"

    # an identical prompt, whatever its frame label says
    data.held_out_templates.discard("t-allocate")
    data.train.append({"prompt": data.held_out[0].messages, "completion": []})
    with pytest.raises(DatasetInvalid, match="1 held-out prompts also appear in training"):
        dataset_check(data)


def test_an_unknown_dataset_is_named_with_the_known_ones():
    known = "brand/compliant-copy, retailer/schema-mapping, task/planner"
    with pytest.raises(DatasetInvalid, match=f"no dataset builder 'voice' for brand adapters; known: {known}"):
        build_dataset(kind="brand", name="voice", n_train=100, n_held_out=50, seed=0)
