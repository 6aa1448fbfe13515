"""Leader election through a `coordination.k8s.io` Lease (the Kubernetes client's helper).

Only the holder of the Lease acts. `lead` blocks: it waits to acquire the Lease, calls
`on_leading` in a thread, renews the Lease, and calls `on_lost` once renewing fails (the
caller exits the process, so a replica that lost the Lease never acts again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock


def lead(
    api: k8s.ApiClient,
    *,
    namespace: str,
    name: str,
    identity: str,
    lease_seconds: int,
    on_leading: Callable[[], None],
    on_lost: Callable[[], None],
) -> None:
    make_lock: Any = LeaseLock
    make_config: Any = electionconfig.Config
    make_election: Any = leaderelection.LeaderElection
    lock = make_lock(name, namespace, identity)
    lock.api_instance = k8s.CoordinationV1Api(api)
    renew = max(2, lease_seconds * 2 // 3)
    retry = max(1, renew // 3)
    config = make_config(
        lock,
        lease_duration=lease_seconds,
        renew_deadline=renew,
        retry_period=retry,
        onstarted_leading=on_leading,
        onstopped_leading=on_lost,
    )
    election = make_election(config)
    election.run()
