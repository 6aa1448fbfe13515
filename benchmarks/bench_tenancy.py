"""Tenant-credential figures: what issuing a namespace's role costs, and what the check that
a settled namespace is still in order costs, against a plain round trip to the same server
in the same run.

Starts its own PostgreSQL 15 (`tests/pg.py`), migrates it, then times (median and p95 over
`--repeat` namespaces or calls):

- baseline: `SELECT 1` through the same engine (one round trip with a pooled connection);
- `scram_verifier`: the SCRAM-SHA-256 verifier alone (PBKDF2, 4096 iterations, CPU only);
- `grant_tenant` of a new namespace (create role, grants, tenant_roles row: one transaction);
- `grant_tenant` again (a rotation: ALTER ROLE);
- `issued_at` (the database half of the operator's re-check of a namespace);
- `revoke_tenant`.

    python benchmarks/bench_tenancy.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from pg import PostgresServer  # noqa: E402

from driftwarden.detectors.storage import create_engine, upgrade  # noqa: E402
from driftwarden.detectors.storage.tenancy import (  # noqa: E402
    grant_tenant,
    issued_at,
    revoke_tenant,
    scram_verifier,
)


def _times(calls: list[Callable[[], object]]) -> list[float]:
    seconds = []
    for call in calls:
        began = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - began)
    return seconds


def _row(name: str, seconds: list[float], baseline: float) -> str:
    ordered = sorted(seconds)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{name:<28} {median * 1e3:9.2f} {p95 * 1e3:9.2f} {median / baseline:9.1f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    n = max(5, args.repeat)
    with PostgresServer.start() as server:
        engine = create_engine(server.create_database("bench_tenancy"))
        upgrade(engine)
        names = [f"bench-ns-{i}" for i in range(n)]

        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        ping()  # warm the pool
        baseline = _times([ping] * n)
        base = statistics.median(baseline)
        rows = [
            _row("SELECT 1 (baseline)", baseline, base),
            _row("scram_verifier", _times([lambda: scram_verifier("x" * 43)] * n), base),
            _row(
                "grant_tenant (new role)",
                _times([lambda ns=ns: grant_tenant(engine, ns) for ns in names]),
                base,
            ),
            _row(
                "grant_tenant (rotation)",
                _times([lambda ns=ns: grant_tenant(engine, ns) for ns in names]),
                base,
            ),
            _row(
                "issued_at (re-check)",
                _times([lambda ns=ns: issued_at(engine, ns) for ns in names]),
                base,
            ),
            _row(
                "revoke_tenant",
                _times([lambda ns=ns: revoke_tenant(engine, ns) for ns in names]),
                base,
            ),
        ]
        engine.dispose()
    print(f"tenant credentials, {n} namespaces, PostgreSQL 15 on loopback")
    print(f"{'what':<28} {'median ms':>9} {'p95 ms':>9} {'/baseline':>10}")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
