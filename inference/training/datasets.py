"""Dataset builders by name: each returns training examples (conversational prompt/completion pairs) and a
held-out evaluation set built from templates the training set never uses, with the tool schema and the canonical
form that exact match compares. The builders live next to the data they use; this module only names them.

Every dataset is checked before training: enough examples on both sides, and no leakage (a shared template or an
identical prompt between training and held-out) — either fails the run with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inference.adapters.models import AdapterKind

MIN_TRAIN = 50
MIN_HELD_OUT = 20
TOO_FEW = "the dataset has {n} {side} examples; at least {minimum} are needed"
LEAKED_TEMPLATES = "held-out examples share templates with training: {templates}"
LEAKED_PROMPTS = "{n} held-out prompts also appear in training, e.g. {example!r}"
UNKNOWN = "no dataset builder {name!r} for {kind} adapters; known: {known}"


@dataclass(frozen=True)
class ToolCallCase:
    """One held-out case: the prompt's text, the chat messages the model gets, and the arguments it should write."""

    text: str
    messages: list[dict]
    expected: dict


class DatasetInvalid(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class TrainingData:
    train: list[dict]
    held_out: list[ToolCallCase]
    schema: dict
    canonical: Callable[[Any], Any]
    train_templates: set[str] = field(default_factory=set)
    held_out_templates: set[str] = field(default_factory=set)
    # DPO pairs ({"prompt", "chosen", "rejected"}, conversational) for datasets that have them.
    preference_pairs: list[dict] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"train": len(self.train), "held_out": len(self.held_out),
                "train_templates": sorted(self.train_templates), "held_out_templates": sorted(self.held_out_templates)}


def planner_dataset(*, n_train: int, n_held_out: int, seed: int) -> TrainingData:
    from campaigns.plans.objectives import (
        ARGUMENTS_SCHEMA,
        canonical_arguments,
        objective_set,
        planner_messages,
        planner_sft_examples,
    )

    train = objective_set(held_out=False, n=n_train, seed=seed)
    held_out = objective_set(held_out=True, n=n_held_out, seed=seed + 1)
    return TrainingData(
        train=planner_sft_examples(train),
        held_out=[ToolCallCase(text=o.text, messages=planner_messages(o.text), expected=o.call["arguments"])
                  for o in held_out],
        schema=ARGUMENTS_SCHEMA, canonical=canonical_arguments,
        train_templates={o.frame for o in train}, held_out_templates={o.frame for o in held_out},
    )


def schema_mapping_dataset(*, n_train: int, n_held_out: int, seed: int) -> TrainingData:
    from campaigns.harmonize.training_data import mapping_training_data

    return mapping_training_data(n_train=n_train, n_held_out=n_held_out, seed=seed)


def compliant_copy_dataset(*, n_train: int, n_held_out: int, seed: int) -> TrainingData:
    from governance.policies.training_data import copy_training_data

    return copy_training_data(n_train=n_train, n_held_out=n_held_out, seed=seed)


# (adapter kind, dataset name) -> builder
BUILDERS: dict[tuple[str, str], Callable[..., TrainingData]] = {
    (AdapterKind.TASK, "planner"): planner_dataset,
    (AdapterKind.RETAILER, "schema-mapping"): schema_mapping_dataset,
    (AdapterKind.BRAND, "compliant-copy"): compliant_copy_dataset,
}


def build_dataset(*, kind: str, name: str, n_train: int, n_held_out: int, seed: int) -> TrainingData:
    builder = BUILDERS.get((kind, name))
    if builder is None:
        known = ", ".join(f"{k}/{n}" for k, n in sorted(BUILDERS)) or "none"
        raise DatasetInvalid("unknown_dataset", UNKNOWN.format(name=name, kind=kind, known=known))
    data = builder(n_train=n_train, n_held_out=n_held_out, seed=seed)
    dataset_check(data)
    return data


def _prompt_text(example: dict) -> str:
    return "\n".join(message["content"] for message in example["prompt"])


def dataset_check(data: TrainingData) -> None:
    """Refuse a dataset too small to learn from or to measure on, or one whose held-out set leaks into training."""
    for side, n, minimum in (("training", len(data.train), MIN_TRAIN), ("held-out", len(data.held_out), MIN_HELD_OUT)):
        if n < minimum:
            raise DatasetInvalid("too_few_examples", TOO_FEW.format(n=n, side=side, minimum=minimum))
    shared = data.train_templates & data.held_out_templates
    if shared:
        raise DatasetInvalid("leakage", LEAKED_TEMPLATES.format(templates=", ".join(sorted(shared))))
    trained = {_prompt_text(example) for example in data.train}
    leaked = [case for case in data.held_out if "\n".join(m["content"] for m in case.messages) in trained]
    if leaked:
        raise DatasetInvalid("leakage", LEAKED_PROMPTS.format(n=len(leaked), example=leaked[0].text))
