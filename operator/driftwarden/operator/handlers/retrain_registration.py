"""The retraining controller's kopf handlers and its one periodic sweep.

Events of RetrainPolicies, RetrainRuns (an approval is a patch of one) and training Jobs
reconcile the policy concerned; a governed monitor's ingested run does too (the glue's
`after_ingest` hook). Persistence and model-age triggers and approval expiry need time to
pass, not an event: one thread sweeps every policy every `sweep_seconds` (not a timer per
object). It starts with the operator (so only the leader sweeps) and stops with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import kopf

from driftwarden.operator.api.common import GROUP, VERSION
from driftwarden.operator.k8s.objects import RETRAIN_POLICY
from driftwarden.operator.reconcile.naming import LABEL_POLICY

from .retrain import Retraining, is_training_job, policy_of, reconcile_policy, sweep
from .retry import Key

log = logging.getLogger("driftwarden.operator.retrain")


def retry_policy(rt: Retraining, namespace: str, name: str) -> None:
    """The retry queue's work for a policy key."""
    found = rt.op.cluster.get(RETRAIN_POLICY, namespace, name)
    if found is not None:
        reconcile_policy(rt, found)


class Sweeper:
    """One thread: every policy, every `seconds`, until stopped."""

    def __init__(self, rt: Retraining, namespaces: tuple[str, ...], seconds: float) -> None:
        self.rt, self.namespaces, self.seconds = rt, namespaces, seconds
        self._stop = threading.Event()

    def start(self) -> None:
        # A new thread each start: kopf runs the startup activities again when the operator
        # restarts its watches in-process (`main._kopf_operator`).
        self._stop = threading.Event()
        threading.Thread(
            target=self._loop, args=(self._stop,), name="retrain-sweep", daemon=True
        ).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.seconds):
            try:
                sweep(self.rt, self.namespaces)
            except Exception as exc:  # a sweep that fails is tried again at the next tick
                log.warning("retrain sweep: %s", exc)


def register_retraining(
    registry: kopf.OperatorRegistry,
    rt: Retraining,
    namespaces: tuple[str, ...],
    guarded: Callable[[Key, Callable[[], None]], None],
) -> None:
    sweeper = Sweeper(rt, namespaces, rt.sweep_seconds)

    def policy_key(namespace: str, name: str) -> Key:
        return ("policy", namespace, name)

    @kopf.on.startup(registry=registry)
    def start_sweep(**_: Any) -> None:
        sweeper.start()

    @kopf.on.cleanup(registry=registry)
    def stop_sweep(**_: Any) -> None:
        sweeper.stop()

    @kopf.on.event(GROUP, VERSION, "retrainpolicies", registry=registry)
    def policy_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED":
            return
        key = policy_key(str(body.metadata.namespace), str(body.metadata.name))
        guarded(key, lambda: reconcile_policy(rt, dict(body)))

    def owner_changed(obj: dict[str, Any]) -> None:
        policy = policy_of(rt, obj)
        if policy is not None:
            reconcile_policy(rt, policy)

    @kopf.on.event(GROUP, VERSION, "retrainruns", registry=registry)
    def retrain_run_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED":
            return
        name = str((body.get("spec") or {}).get("policyName") or "")
        key = policy_key(str(body.metadata.namespace), name)
        guarded(key, lambda: owner_changed(dict(body)))

    @kopf.on.event("batch", "v1", "jobs", registry=registry)
    def training_job_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED" or not is_training_job(dict(body)):
            return
        policy = (body.metadata.labels or {}).get(LABEL_POLICY, "")
        key = policy_key(str(body.metadata.namespace), str(policy))
        guarded(key, lambda: owner_changed(dict(body)))
