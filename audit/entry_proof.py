"""One entry's inclusion proof against the latest signed checkpoint, checked on the server for the audit
log page: the same steps ``python -m audit.verify`` takes offline for a whole bundle.

1. The latest checkpoint in the store (signed first if the tree has grown past it, as ``GET
   /api/v1/audit/checkpoint`` does), opened with the published verifier keys (C2SP signed note).
2. The RFC 9162 §2.1.3 inclusion proof of the entry's leaf in the tree of the checkpoint's size.
3. The leaf hash of the entry's exact bytes, walked up the proof to the checkpoint's root.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from django.conf import settings

from audit import selectors
from audit.checkpoint import NoteError, verify_checkpoint
from audit.checkpoints import checkpoint_create
from audit.keys import published_verifiers
from audit.merkle import ProofError, leaf_hash, verify_inclusion
from audit.models import AuditEntry
from audit.store import CheckpointStore


@dataclass
class EntryProof:
    index: int
    tree_size: int = 0
    leaf_hash: str = ""
    proof: list[str] = field(default_factory=list)
    root: str = ""
    note: str = ""
    verified: bool = False
    problem: str = ""


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def verifier_keys(store: CheckpointStore | None = None) -> list[str]:
    """The published verifier key lines (``<name>+<id>+<key> valid_from=... [valid_until=...]``)."""
    store = store or CheckpointStore()
    if not store.key_lines():
        checkpoint_create(store=store)
    return store.key_lines()


def verify_command(bundle: str = "audit-bundle.zip", store: CheckpointStore | None = None) -> str:
    """The exact command that verifies an exported bundle offline, trusting every published key."""
    keys = " ".join(f"--key '{line.split()[0]}'" for line in verifier_keys(store))
    return f"python -m audit.verify {bundle} {keys} --origin '{settings.AUDIT_LOG_ORIGIN}'"


def entry_proof(entry: AuditEntry, store: CheckpointStore | None = None) -> EntryProof:
    """The entry's inclusion proof against the latest checkpoint, and whether it verifies."""
    store = store or CheckpointStore()
    result = EntryProof(index=entry.index)
    latest = store.latest()
    if latest is None or latest.size <= entry.index:
        latest = checkpoint_create(store=store)
    result.note = latest.note
    leaf = leaf_hash(entry.entry.encode("utf-8"))
    result.leaf_hash = _b64(leaf)
    try:
        checkpoint = verify_checkpoint(
            latest.note, published_verifiers(store), origin=settings.AUDIT_LOG_ORIGIN
        )
    except NoteError as exc:
        result.problem = f"the latest checkpoint does not verify with the published keys: {exc}"
        return result
    result.tree_size, result.root = checkpoint.size, _b64(checkpoint.root)
    if checkpoint.size <= entry.index:
        result.problem = f"no signed checkpoint covers entry {entry.index} yet"
        return result
    try:
        proof = selectors.inclusion_proof_get(index=entry.index, size=checkpoint.size)
        result.proof = [_b64(node) for node in proof]
        verify_inclusion(leaf, entry.index, checkpoint.size, proof, checkpoint.root)
    except (ProofError, LookupError, ValueError) as exc:
        result.problem = f"the inclusion proof does not verify: {exc}"
        return result
    result.verified = True
    return result
