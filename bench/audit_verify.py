"""Offline verification speed of an audit bundle, and RFC 9162 proof generation at a million leaves.
Needs no database. Prints one JSON line.

    .venv/bin/python bench/audit_verify.py [--entries 1000000]

Building the synthetic bundle (realistic ~300-byte canonical entries, signed checkpoints, the leaf-hash
record) is not timed. ``verify_seconds`` is the whole ``python -m audit.verify`` path (zip inflate,
checkpoint signatures, record, chain, Merkle root); ``verify_log_seconds`` is the core on entries
already in memory, as the service calls it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit.checkpoint import Checkpoint, Ed25519Signer, Verifier, sign_checkpoint
from audit.jcs import canonical_json
from audit.merkle import (
    CompactRange,
    NodeId,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    range_nodes,
    verify_consistency,
    verify_inclusion,
)
from audit.verify import GENESIS_PREV, verify_bundle, verify_log, write_bundle

ORIGIN = "bench.example/audit"
ACTIONS = [
    ("model_version.promote", "model_version"),
    ("dataset.register", "dataset"),
    ("consent.grant", "consent"),
    ("signoff.approve", "signoff"),
    ("user.login", "user"),
]


def entry_body(index: int, prev: str, rng: random.Random) -> dict[str, object]:
    action, target_type = ACTIONS[index % len(ACTIONS)]
    user = rng.randrange(1, 500)
    return {
        "v": 1,
        "index": index,
        "timestamp": f"2025-{1 + index // 2_600_000 % 12:02d}-{1 + index // 86_400 % 28:02d}T"
        f"{index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d}.{index % 1_000_000:06d}Z",
        "actor": {"type": "user", "id": str(user)},
        "action": action,
        "target": {"type": target_type, "id": f"{rng.getrandbits(64):016x}"},
        "data": {"model": "fraud-detector", "version": f"3.{index % 17}.{index % 5}"},
        "request_id": f"{rng.getrandbits(128):032x}" if index % 3 else None,
        "prev": prev,
    }


def build_log(count: int) -> list[bytes]:
    rng = random.Random(20250301)
    entries: list[bytes] = []
    prev = GENESIS_PREV
    for index in range(count):
        body = entry_body(index, prev, rng)
        # json.dumps with sorted keys and no whitespace is RFC 8785 for these ASCII keys, strings and
        # small integers; the sample check below holds it to that.
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        if index < 2000 and raw != canonical_json(body):
            raise AssertionError(f"synthetic entry {index} is not canonical")
        entries.append(raw)
        prev = hashlib.sha256(raw).hexdigest()
    return entries


def checkpoints_for(leaves: list[bytes], sizes: list[int], signer: Ed25519Signer) -> list[str]:
    tree = CompactRange()
    notes = []
    for size in sizes:
        tree.extend(leaves[tree.size : size])
        notes.append(sign_checkpoint(Checkpoint(ORIGIN, size, tree.root()), [signer]))
    return notes


def proof_timings(leaves: list[bytes], samples: int) -> dict[str, float]:
    """Per-proof milliseconds at the full tree size, from a dict holding every perfect node."""
    size = len(leaves)
    nodes: dict[NodeId, bytes] = {}
    tree = CompactRange()
    for value in leaves:
        nodes.update(tree.append(value))
    root = tree.root()
    rng = random.Random(7)
    indices = [rng.randrange(size) for _ in range(samples)]
    firsts = [rng.randrange(1, size) for _ in range(samples)]

    start = time.perf_counter()
    # What a server does per request: name the nodes (one query), then build the path from them.
    proofs = [(inclusion_proof_nodes(i, size), inclusion_proof(i, size, nodes)) for i in indices]
    generate = time.perf_counter() - start
    start = time.perf_counter()
    for index, (_, proof) in zip(indices, proofs, strict=True):
        verify_inclusion(leaves[index], index, size, proof, root)
    verify = time.perf_counter() - start

    start = time.perf_counter()
    consistency = [(consistency_proof_nodes(f, size), consistency_proof(f, size, nodes)) for f in firsts]
    consistency_seconds = time.perf_counter() - start
    for first, (_, proof) in zip(firsts, consistency, strict=True):
        old_root = CompactRange(first, [nodes[node] for node in range_nodes(0, first)]).root()
        verify_consistency(first, size, old_root, root, proof)
    return {
        "inclusion_proof_ms_pure": round(generate / samples * 1000, 4),
        "inclusion_verify_ms": round(verify / samples * 1000, 4),
        "consistency_proof_ms_pure": round(consistency_seconds / samples * 1000, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", type=int, default=10)
    args = parser.parse_args()
    count = args.entries

    entries = build_log(count)
    leaves = [leaf_hash(entry) for entry in entries]
    signer = Ed25519Signer.generate(ORIGIN)
    verifiers = [Verifier.parse(signer.verifier_key)]
    step = max(1, count // args.checkpoints)
    sizes = sorted({*range(step, count + 1, step), count} - {0})
    notes = checkpoints_for(leaves, sizes, signer)
    record = b"".join(leaves)

    with tempfile.TemporaryDirectory(prefix="audit-verify-bench-") as directory:
        bundle = Path(directory) / "bundle.zip"
        write_bundle(
            bundle,
            origin=ORIGIN,
            kind="full",
            entries=entries,
            checkpoints=notes,
            keys=[signer.verifier_key],
            leaf_hashes=record,
        )
        bundle_bytes = bundle.stat().st_size
        start = time.perf_counter()
        result = verify_bundle(bundle, verifiers)
        verify_seconds = time.perf_counter() - start
    if not result.ok or result.verified_tree_size != count:
        raise SystemExit(f"bundle did not verify: {result.reason}")

    start = time.perf_counter()
    in_memory = verify_log(entries, checkpoints=notes, verifiers=verifiers, leaf_hashes=record, origin=ORIGIN)
    verify_log_seconds = time.perf_counter() - start
    if not in_memory.ok:
        raise SystemExit(f"log did not verify: {in_memory.reason}")

    timings = proof_timings(leaves, samples=2000)
    print(
        json.dumps(
            {
                "bench": "audit_verify",
                "entries": count,
                "mean_entry_bytes": round(sum(map(len, entries)) / count, 1),
                "checkpoints": len(notes),
                "bundle_bytes": bundle_bytes,
                "verify_seconds": round(verify_seconds, 3),
                "entries_per_second": round(count / verify_seconds),
                "verify_log_seconds": round(verify_log_seconds, 3),
                "leaf_count_for_proofs": count,
                **timings,
            }
        )
    )


if __name__ == "__main__":
    main()
