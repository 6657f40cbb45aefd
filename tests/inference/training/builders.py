"""Training runs for tests: recorded by the real service (nothing queued), then set to the state a test needs."""

from __future__ import annotations

from inference.training.models import TrainingRun
from inference.training.services import training_start

OWN_DATASET = "voice"  # registered for brand and retailer adapters by the `own_datasets` fixture


def run_of(owner, *, name: str | None = None, **fields) -> TrainingRun:
    """A queued run of `owner` for an adapter of its own kind (the platform's: the planner task adapter), then set to
    `fields` to stand for a later state."""
    kind = {"platform": "task"}.get(owner.kind, owner.kind)
    task = "planner" if kind == "task" else ""
    run = training_start(owner=owner, actor=f"user:{owner.slug}-admin", kind=kind, name=name or f"{owner.slug}-voice",
                         dataset="planner" if task else OWN_DATASET, task=task, enqueue=False)
    if fields:
        TrainingRun.objects.filter(pk=run.pk).update(**fields)
        run.refresh_from_db()
    return run


def finished_evaluation() -> dict:
    """An evaluation as the runner records it: 20 held-out cases, the adapter 15 points better than the base."""
    return {
        "base": {"n": 20, "exact_match": 0.4, "valid": 1.0, "seconds": 12.34, "failures": [
            {"text": "Spend $5k on snacks", "answer": '{"budget": "500"}', "expected": {"budget": "5000"}},
            {"text": "Max ROAS 3 on cereal", "answer": '{"budget": "0"}', "expected": {"min_roas": 3}},
        ]},
        "adapter": {"n": 20, "exact_match": 0.55, "valid": 0.95, "seconds": 11.0, "failures": [
            {"text": "Max ROAS 3 on cereal", "answer": '{"min_roas": 2}', "expected": {"min_roas": 3}},
        ]},
        "gain": 0.15, "margin": 0.1, "approved": True,
        "verdict": "approved: exact match 55.0% against the base model's 40.0%",
    }
