"""The training task on the `gpu` queue; torch is imported inside it, never at module import."""

from __future__ import annotations

from rmn_saas.celery import app


@app.task(name="inference.train_adapter", acks_late=True)
def train_adapter(run_id: int, resume: bool = False) -> None:
    from inference.training.models import TrainingRun, TrainingStatus
    from inference.training.runner import run_training

    # Taking the run is one UPDATE from queued: a redelivered or duplicate message finds it taken (or cancelled,
    # or finished) and does nothing.
    taken = TrainingRun.objects.filter(pk=run_id, status=TrainingStatus.QUEUED).update(
        status=TrainingStatus.RUNNING, message="starting")
    if not taken:
        return
    run_training(TrainingRun.objects.select_related("owner").get(pk=run_id), resume=resume)
