"""``make test``: the whole suite on the embedded default (SQLite), then on PostgreSQL.

With ``REQUIRE_SERVICES=1`` (CI) a missing PostgreSQL, Redis or browser fails the run instead of
skipping; without it, the PostgreSQL pass is skipped with the reason when no server answers.
"""

from __future__ import annotations

import os
import subprocess
import sys

from governance.testing.services import postgres_url, service_problem


def _workers(env: dict[str, str]) -> list[str]:
    """pytest-xdist over the machine's cores (at most TEST_WORKERS, default 2), each worker with a var
    folder of its own (broker queue, media, keys), so a worker process one test starts never takes
    another's task. Tests that need each other's results share an ``xdist_group``."""
    count = min(os.cpu_count() or 1, int(env.get("TEST_WORKERS", "2")))
    if count < 2:
        return []
    var = env["GOVERNANCE_VAR_DIR"]
    specs = [arg for n in range(count) for arg in ("--tx", f"popen//env:GOVERNANCE_VAR_DIR={var}/gw{n}")]
    return ["--dist", "loadgroup", *specs]


def _pytest(label: str, env: dict[str, str], extra: list[str]) -> int:
    sys.stdout.write(f"\n=== tests on {label} ===\n")
    sys.stdout.flush()
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *_workers(env), *extra], env=env)


def main(argv: list[str]) -> int:
    base_env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    base_env.setdefault("GOVERNANCE_VAR_DIR", os.path.abspath("var/test"))
    status = _pytest("SQLite (embedded default)", base_env, argv)
    if status not in (0,):
        return status
    problem = service_problem("postgres")
    if problem:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            sys.stdout.write(f"FAILED: PostgreSQL is required (REQUIRE_SERVICES=1) but {problem}\n")
            return 1
        sys.stdout.write(f"SKIPPED the PostgreSQL pass: {problem}\n")
        return 0
    pg_env = {**base_env, "DATABASE_URL": postgres_url("governance")}
    return _pytest("PostgreSQL", pg_env, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
