"""Inclusion and consistency proofs from the database at 1,000,000 entries (PostgreSQL).

Builds the Merkle nodes of a 1,000,000-leaf log straight into a fresh database (COPY), then times the
service's proof selectors and the HTTP endpoint. Prints one JSON line.

    .venv/bin/python bench/audit_proof.py [--entries 1000000] [--samples 200]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, setup_django


def _load_tree(env: dict[str, str], entries: int) -> bytes:
    import psycopg

    from audit.merkle import CompactRange, leaf_hash

    tree = CompactRange()
    shift = 48
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        with conn.cursor() as cursor, cursor.copy("COPY audit_auditnode (key, hash) FROM STDIN") as copy:
            for index in range(entries):
                leaf = leaf_hash(b'{"index":%d}' % index)
                for (level, node_index), digest in tree.append(leaf):
                    copy.write_row(((level << shift) | node_index, digest))
        conn.execute(
            "UPDATE audit_audithead SET size = %s, compact_range = %s WHERE id = 1",
            [entries, b"".join(tree.hashes)],
        )
        conn.commit()
    return tree.root()


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres("governance_bench_proof", Path(var_dir))
        env["THROTTLE_ANON"] = "1000000/minute"  # measure the proof, not the rate limiter
        setup_django(env)
        started = time.perf_counter()
        root = _load_tree(env, args.entries)
        load_seconds = time.perf_counter() - started

        from rest_framework.test import APIClient

        from audit import selectors
        from audit.merkle import leaf_hash, verify_inclusion

        rng = random.Random(1)
        size = args.entries
        selector_times, api_times, consistency_times = [], [], []
        client = APIClient()
        for _ in range(args.samples):
            index = rng.randrange(size)
            began = time.perf_counter()
            proof = selectors.inclusion_proof_get(index=index, size=size)
            selector_times.append(time.perf_counter() - began)
            verify_inclusion(leaf_hash(b'{"index":%d}' % index), index, size, proof, root)
            began = time.perf_counter()
            response = client.get(f"/api/v1/audit/proof/inclusion?index={index}&tree_size={size}")
            api_times.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise SystemExit(
                    f"proof endpoint answered {response.status_code}: {response.content[:200]!r}"
                )
            first = rng.randrange(1, size)
            began = time.perf_counter()
            selectors.consistency_proof_get(first=first, second=size)
            consistency_times.append(time.perf_counter() - began)
    print(
        json.dumps(
            {
                "bench": "audit_proof",
                "database": "postgresql",
                "entries": args.entries,
                "root_sha256": hashlib.sha256(root).hexdigest()[:16],
                "tree_load_seconds": round(load_seconds, 1),
                "inclusion_proof_ms_median": _median_ms(selector_times),
                "inclusion_proof_ms_p95": round(
                    sorted(selector_times)[int(len(selector_times) * 0.95)] * 1000, 3
                ),
                "inclusion_proof_http_ms_median": _median_ms(api_times),
                "consistency_proof_ms_median": _median_ms(consistency_times),
            }
        )
    )


if __name__ == "__main__":
    main()
