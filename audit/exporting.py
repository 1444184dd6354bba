"""The audit bundle: every entry, the signed checkpoints, the leaf-hash record and the verifier keys,
in the layout that ``python -m audit.verify`` reads (see README, "Audit bundle")."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from pathlib import Path

from django.conf import settings

from audit import selectors
from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoints import checkpoint_create
from audit.services import Target, audit_record
from audit.store import CheckpointStore
from audit.verify import write_bundle


def audit_export(*, actor: Actor, out: Path, store: CheckpointStore | None = None) -> int:
    """Record the export, sign a checkpoint that covers that record, then write the bundle.

    Returns the number of entries written. The export's own entry is inside the bundle it describes.
    """
    store = store or CheckpointStore()
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_EXPORT,
        target=Target.of("audit_log", settings.AUDIT_LOG_ORIGIN),
        data={"kind": "full"},
    )
    size = checkpoint_create(store=store).size
    write_bundle(
        out,
        origin=settings.AUDIT_LOG_ORIGIN,
        kind="full",
        entries=selectors.entry_bytes_iter(end=size),
        checkpoints=[stored.note for stored in store.checkpoints() if stored.size <= size],
        keys=store.key_lines(),
        leaf_hashes=store.leaf_hashes()[: size * 32],
    )
    return size


def audit_proof_bundle(
    *, out: Path, indices: Iterable[int], extra_files: Mapping[str, bytes] | None = None
) -> int:
    """A partial bundle: the chosen entries, each with an RFC 9162 inclusion proof against a freshly
    signed checkpoint, so that ``python -m audit.verify`` proves them without the rest of the log.

    Returns the tree size the proofs are against.
    """
    store = CheckpointStore()
    checkpoint = checkpoint_create(store=store)
    size = checkpoint.size
    wanted = sorted({index for index in indices if 0 <= index < size})
    rows = dict(
        selectors.entry_list(start=0, end=size).filter(index__in=wanted).values_list("index", "entry")
    )
    inclusion = [
        {
            "index": index,
            "tree_size": size,
            "proof": [
                base64.b64encode(node).decode("ascii")
                for node in selectors.inclusion_proof_get(index=index, size=size)
            ],
        }
        for index in wanted
    ]
    write_bundle(
        out,
        origin=settings.AUDIT_LOG_ORIGIN,
        kind="partial",
        entries=(rows[index].encode("utf-8") for index in wanted),
        checkpoints=[checkpoint.note],
        keys=store.key_lines(),
        proofs={"inclusion": inclusion, "consistency": []},
        extra_files=extra_files,
    )
    return size
