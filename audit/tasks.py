"""Periodic audit work on Celery beat: thin wrappers over the services, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from audit import selectors
from audit.checkpoints import checkpoint_create, log_verify_and_alert
from audit.services import audit_sequence
from audit.store import CheckpointStore


@shared_task(name="audit.tasks.audit_checkpoint", ignore_result=True)
def audit_checkpoint() -> int | None:
    """Sign a checkpoint when M entries or N seconds have passed since the last one."""
    audit_sequence()  # first integrate what a writer that died after its commit left queued
    store = CheckpointStore()
    latest = store.latest()
    size = selectors.tree_size()
    if latest is not None:
        pending = size - latest.size
        if pending <= 0:
            return None
        path = store.checkpoint_dir / f"{latest.size:020d}.txt"
        age = timezone.now().timestamp() - path.stat().st_mtime
        if (
            pending < settings.AUDIT_CHECKPOINT_EVERY_ENTRIES
            and age < settings.AUDIT_CHECKPOINT_EVERY_SECONDS
        ):
            return None
    return checkpoint_create(store=store).size


@shared_task(name="audit.tasks.audit_verify", ignore_result=True)
def audit_verify() -> bool:
    return log_verify_and_alert().ok


@shared_task(name="audit.tasks.ping")
def ping(value: int) -> int:
    """A no-op round trip used by readiness checks and tests to see a worker complete a task."""
    return value + 1
