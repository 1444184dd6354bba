"""What the runner hands a training or deploy job, and the checks both make on the bytes they load.

The runner builds a :class:`Context` once it has verified and claimed the grant; ``training`` and
``deploying`` use it and raise :class:`Refused` when a check says no. Living here rather than in the
runner keeps the dependency one way: runner → training/deploying → context.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError

from audit.actors import Actor
from governance.approvals.grants import GrantClaims
from governance.jobs.models import ReleaseJob

# A lost database connection: the task retries these (with backoff); everything else ends the job.
TRANSIENT = (OperationalError, InterfaceError)


class Refused(Exception):
    """A check inside the worker said no; ``check`` names it."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason


@dataclass(frozen=True)
class Context:
    job: ReleaseJob
    claims: GrantClaims
    actor: Actor
    workdir: Path


def pinned_hash(context: Context, node_id: str) -> str:
    for pin in context.claims["pinned"]:
        if pin["node_id"] == node_id:
            return pin["sha256"]
    raise Refused("pinned_hash", f"the grant pins no hash for {node_id}")


def fetch_verified(context: Context, *, storage_name: str, node_id: str) -> Path:
    """Copy stored bytes into the job's directory, hashing them; they must hash to the pinned value."""
    expected = pinned_hash(context, node_id)
    if not storage_name:
        raise Refused("bytes", f"{node_id} has no stored bytes here to load (only a reference)")
    target = context.workdir / hashlib.sha256(node_id.encode()).hexdigest()
    digest = hashlib.sha256()
    try:
        with default_storage.open(storage_name, "rb") as source, target.open("wb") as sink:
            for chunk in iter(lambda: source.read(1024 * 1024), b""):
                digest.update(chunk)
                sink.write(chunk)
    except FileNotFoundError as exc:
        raise Refused("bytes", f"the stored bytes of {node_id} are missing") from exc
    if digest.hexdigest() != expected:
        raise Refused(
            "hash_mismatch",
            f"the bytes of {node_id} hash to {digest.hexdigest()}, but the approval pinned {expected}",
        )
    return target
