"""Retraining: gather, decide with the pure planner, make it so, record it.

One function reconciles a RetrainPolicy, whatever woke it: a watch event of the policy or
of one of its RetrainRuns or training Jobs, a governed monitor's run just ingested, or the
one periodic sweep over every policy (persistence and model-age triggers fire with time,
not with runs). Under a per-policy lock (in the process, and a PostgreSQL advisory lock
across replicas) it reads what exists — the selected monitors and their recent runs from
the results database, the policy's RetrainRuns and training Jobs, the triggered decisions
`retrain_events` recorded — asks `reconcile.retrain` what should be, and then:

1. checks the jobTemplate with a server-side dry-run create (fieldValidation=Strict): a
   refusal makes the policy Stalled with the server's message before any trigger;
2. creates the planned RetrainRuns and training Jobs ("already exists" with our labels is
   success: a restart or a second replica computes the same names);
3. records each triggered decision once under its key (`<namespace>/<RetrainRun>`, a unique
   constraint), and each skip when it differs from the last one recorded for that monitor
   (or concerns a new run);
4. follows every RetrainRun: its Job, the trained model's metrics from the Job's
   termination message, the validation against the policy's thresholds, approval expiry;
   writes its status and Events on transitions, and the outcome into `retrain_events`;
5. writes the policy's status (the last decisions per monitor) and its Events.

Nothing is kept in memory between reconciles but the locks and a cache of dry-run results
per policy generation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError

from driftwarden.detectors.errors import DriftwardenError
from driftwarden.detectors.storage import monitor_history, run_drifted_features
from driftwarden.detectors.storage.reads import run_rows
from driftwarden.detectors.storage.retrain import (
    policy_decisions,
    policy_lock,
    record_decision,
    update_outcome,
)
from driftwarden.detectors.storage.types import RetrainDecision, RetrainEventRow
from driftwarden.operator.api import conditions as c
from driftwarden.operator.api.modelmonitor import ModelMonitor
from driftwarden.operator.api.retrainpolicy import RetrainPolicy
from driftwarden.operator.api.retrainrun import RetrainRun, TriggerWindows
from driftwarden.operator.api.run import RunSummary
from driftwarden.operator.k8s.errors import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    InvalidError,
    NotFoundError,
)
from driftwarden.operator.k8s.objects import (
    JOB,
    MODEL_MONITOR,
    POD,
    RETRAIN_POLICY,
    RETRAIN_RUN,
    kind_of,
)
from driftwarden.operator.reconcile.naming import LABEL_POLICY_UID, short_hash
from driftwarden.operator.reconcile.retrain import (
    FAILED_OUTCOMES,
    LABEL_RETRAIN_RUN,
    OUTCOME_SUCCEEDED,
    MonitorRuns,
    PastDecision,
    PolicyPlan,
    TrainingJob,
    approval_timeout,
    parse_training_metrics,
    plan_policy,
    plan_retrain_run_update,
    plan_template_probe,
    run_outcome,
    selects,
    stored_run_summary,
    validate_model,
)
from driftwarden.operator.reconcile.retrain import (
    RetrainDecision as PlannedDecision,
)

from .glue import Operator

log = logging.getLogger("driftwarden.operator.retrain")

RUNS_READ: Final = 100
"""Most recent runs of a monitor read for a decision (persistence needs the streak)."""
DECISIONS_READ: Final = 500
CONCURRENT_POLICIES: Final = 4
"""Policies decided at once: each holds one database connection for its advisory lock and
uses another, which keeps well inside SQLAlchemy's default pool (5 + 10 overflow)."""


@dataclass
class Retraining:
    """The retraining controller's settings and its locks."""

    op: Operator
    automatic: bool = False
    """The master switch (--enable-automatic-retraining): off, a policy with approval
    automatic starts nothing; manual approvals work either way."""
    sweep_seconds: float = 60.0
    """How often every policy is decided again (--retrain-sweep-interval)."""
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)
    _probes: dict[tuple[str, int], str | None] = field(default_factory=dict)
    _slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(CONCURRENT_POLICIES)
    )

    @contextmanager
    def locked(self, namespace: str, name: str) -> Iterator[None]:
        key = f"{namespace}/{name}"
        with self._locks_guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with self._slots, lock:
            if self.op.results is None:
                yield
                return
            with policy_lock(self.op.results, f"driftwarden-retrain/{key}"):
                yield


def _now() -> datetime:
    return datetime.now(UTC)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


# --- entry points ---------------------------------------------------------------------------


def run_ingested(rt: Retraining, namespace: str, monitor: str, summary: RunSummary) -> None:
    """A governed monitor's run was ingested: decide for every policy that selects it."""
    found = rt.op.cluster.get(MODEL_MONITOR, namespace, monitor)
    if found is None:
        return
    try:
        model = ModelMonitor.model_validate(found)
    except ValidationError:
        return
    for body in rt.op.cluster.list(RETRAIN_POLICY, namespace):
        policy = _policy(body)
        if policy is not None and selects(policy, model):
            reconcile_policy(rt, body, ingested={monitor: summary})


def sweep(rt: Retraining, namespaces: tuple[str, ...]) -> None:
    """Every policy once (persistence and model-age triggers, approval expiry)."""
    for namespace in namespaces or (None,):
        for body in rt.op.cluster.list(RETRAIN_POLICY, namespace):
            try:
                reconcile_policy(rt, body)
            except (ApiError, DriftwardenError) as exc:
                log.warning("retrain sweep %s: %s", _meta(body).get("name"), exc)


def policy_of(rt: Retraining, obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The RetrainPolicy a RetrainRun or training Job belongs to (None when gone)."""
    metadata = _meta(obj)
    namespace = str(metadata.get("namespace"))
    if obj.get("kind") == "RetrainRun":
        name = (obj.get("spec") or {}).get("policyName")
    else:
        run_name = (metadata.get("labels") or {}).get(LABEL_RETRAIN_RUN)
        if not run_name:
            return None
        run = rt.op.cluster.get(RETRAIN_RUN, namespace, str(run_name))
        name = (run or {}).get("spec", {}).get("policyName")
    if not name:
        return None
    return rt.op.cluster.get(RETRAIN_POLICY, namespace, str(name))


def is_training_job(job: Mapping[str, Any]) -> bool:
    return LABEL_RETRAIN_RUN in (_meta(job).get("labels") or {})


# --- the reconcile --------------------------------------------------------------------------


def _policy(body: Mapping[str, Any]) -> RetrainPolicy | None:
    try:
        return RetrainPolicy.model_validate(body)
    except ValidationError as exc:
        log.warning("RetrainPolicy %s is unreadable: %s", _meta(body).get("name"), exc)
        return None


def reconcile_policy(
    rt: Retraining,
    body: Mapping[str, Any],
    *,
    ingested: Mapping[str, RunSummary] | None = None,
) -> None:
    """Decide for one policy and make the decisions so (see the module docstring)."""
    metadata = _meta(body)
    if metadata.get("deletionTimestamp"):
        return
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    with rt.locked(namespace, name):
        fresh = rt.op.cluster.get(RETRAIN_POLICY, namespace, name)
        if fresh is None or _meta(fresh).get("uid") != metadata.get("uid"):
            return
        policy = _policy(fresh)
        if policy is None:
            return
        _reconcile(rt, fresh, policy, ingested or {})


def _reconcile(
    rt: Retraining,
    body: Mapping[str, Any],
    policy: RetrainPolicy,
    ingested: Mapping[str, RunSummary],
) -> None:
    op = rt.op
    namespace, uid = policy.metadata.namespace, policy.metadata.uid
    now = _now()
    template_error = _probe(rt, policy)
    monitors = [
        m
        for m in (_monitor(item) for item in op.cluster.list(MODEL_MONITOR, namespace))
        if m is not None and selects(policy, m)
    ]
    selector = f"{LABEL_POLICY_UID}={uid}"
    retrain_runs = [
        r
        for r in (_retrain_run(i) for i in op.cluster.list(RETRAIN_RUN, namespace, selector))
        if r is not None
    ]
    job_bodies = op.cluster.list(JOB, namespace, selector)
    jobs = [TrainingJob.from_manifest(j) for j in job_bodies]
    past, recorded = _past(rt, policy)
    entries = [_monitor_runs(rt, m, ingested.get(m.metadata.name)) for m in monitors]
    plan = plan_policy(
        policy,
        entries,
        retrain_runs,
        jobs,
        now,
        enabled=rt.automatic,
        template_error=template_error,
        past=past,
        recorded_names=recorded,
    )
    failure: ApiError | None = None
    refused: set[str] = set()
    for desired in plan.objects:  # one refused object does not hold back the others
        try:
            _create(rt, desired)
        except ApiError as exc:
            log.warning("creating %s %s: %s", desired.get("kind"), _meta(desired)["name"], exc)
            failure = failure or exc
            refused.add(str(_meta(desired)["name"]))
    # A decision whose RetrainRun was refused did not happen: neither recorded nor shown.
    lost = refused & {str(d.retrain_run_name) for d in plan.decisions if d.trigger}
    kept = [d for d in plan.decisions if not (d.trigger and d.retrain_run_name in lost)]
    _record_decisions(rt, policy, kept, ingested, now)
    by_job = {_meta(j).get("name"): j for j in job_bodies}
    for run in retrain_runs:
        _follow(rt, policy, run, by_job.get(run.metadata.name), monitors, now)
    if not lost:
        _write_policy_status(rt, body, policy, plan)
    if failure is not None:
        raise failure  # the retry queue reconciles this policy again


def _write_policy_status(
    rt: Retraining, body: Mapping[str, Any], policy: RetrainPolicy, plan: PolicyPlan
) -> None:
    if plan.changed:
        try:
            rt.op.cluster.merge_patch(
                RETRAIN_POLICY,
                policy.metadata.namespace,
                policy.metadata.name,
                {"status": plan.status.model_dump(mode="json", by_alias=True)},
                subresource="status",
                resource_version=str(_meta(body).get("resourceVersion")),
            )
        except (ConflictError, NotFoundError):
            return  # changed meanwhile: its next event decides again
    for event in plan.events:
        rt.op.cluster.post_event(body, str(event.type), event.reason, event.message)


def _probe(rt: Retraining, policy: RetrainPolicy) -> str | None:
    """The API server's refusal of the jobTemplate (a dry-run create), once per generation."""
    key = (policy.metadata.uid, policy.metadata.generation)
    if key in rt._probes:
        return rt._probes[key]
    try:
        rt.op.cluster.create(plan_template_probe(policy), dry_run=True)
        error = None
    except InvalidError as exc:
        error = f"jobTemplate refused by the API server: {exc.message}"[:1024]
    except AlreadyExistsError:
        error = None
    rt._probes[key] = error
    return error


def _monitor(item: Mapping[str, Any]) -> ModelMonitor | None:
    try:
        return ModelMonitor.model_validate(item)
    except ValidationError:
        return None


def _retrain_run(item: Mapping[str, Any]) -> RetrainRun | None:
    try:
        return RetrainRun.model_validate(item)
    except ValidationError:
        return None


def _monitor_runs(
    rt: Retraining, monitor: ModelMonitor, ingested: RunSummary | None
) -> MonitorRuns:
    """The monitor's recent runs from the results database (the ingested one as its Job
    summarised it), with their windows."""
    runs: dict[str, RunSummary] = {}
    windows: dict[str, TriggerWindows] = {}
    engine = rt.op.results
    if engine is not None:
        namespace, name = monitor.metadata.namespace, monitor.metadata.name
        try:
            records = monitor_history(engine, namespace, name, limit=RUNS_READ)
            for position, record in enumerate(records):  # newest first
                performance, drifted = [], []
                if position == 0:
                    performance = run_rows(engine, record.run_id).performance
                    drifted = run_drifted_features(engine, record.run_id)
                summary, window = stored_run_summary(record, performance, drifted)
                runs[record.run_id] = summary
                windows[record.run_id] = window
        except DriftwardenError as exc:
            log.warning("results database: %s", exc)
    if ingested is not None:
        runs[ingested.run_id] = ingested
    return MonitorRuns(monitor, list(runs.values()), windows)


def _past(rt: Retraining, policy: RetrainPolicy) -> tuple[list[PastDecision], frozenset[str]]:
    """The policy's triggered decisions as recorded, and the RetrainRun names they made."""
    engine = rt.op.results
    if engine is None:
        return [], frozenset()
    rows = policy_decisions(
        engine,
        policy.metadata.namespace,
        policy.metadata.name,
        decision=RetrainDecision.TRIGGERED,
        limit=DECISIONS_READ,
    )
    past = [PastDecision(r.monitor_name, r.created_at, r.outcome, r.finished_at) for r in rows]
    names = frozenset(r.decision_key.split("/", 1)[1] for r in rows if r.decision_key)
    return past, names


def _create(rt: Retraining, desired: Mapping[str, Any]) -> None:
    """Create a planned RetrainRun or training Job; one of ours by that name is success."""
    try:
        rt.op.cluster.create(desired)
    except AlreadyExistsError:
        metadata = _meta(desired)
        existing = rt.op.cluster.get(kind_of(desired), metadata.get("namespace"), metadata["name"])
        labels = _meta(existing or {}).get("labels") or {}
        if labels.get(LABEL_POLICY_UID) != (metadata.get("labels") or {}).get(LABEL_POLICY_UID):
            raise ConflictError(
                409,
                "AlreadyExists",
                f"{desired.get('kind')} {metadata['name']} exists and is not this policy's",
            ) from None


#: The outcomes a RetrainRun ends with (driftwarden_retrain_runs_total counts these).
_FINAL_OUTCOMES = FAILED_OUTCOMES | {OUTCOME_SUCCEEDED}


def _record_decisions(
    rt: Retraining,
    policy: RetrainPolicy,
    decisions: Sequence[PlannedDecision],
    ingested: Mapping[str, RunSummary],
    now: datetime,
) -> None:
    engine = rt.op.results
    if engine is None:
        return
    namespace, name, uid = policy.metadata.namespace, policy.metadata.name, policy.metadata.uid
    for decision in decisions:
        run = decision.firing.run if decision.firing else None
        ingested_run = ingested.get(decision.monitor)
        run_id = run.run_id if run else (ingested_run.run_id if ingested_run else None)
        if decision.trigger:
            key = f"{namespace}/{decision.retrain_run_name}"
            event_id, decided = key, RetrainDecision.TRIGGERED
        else:
            key = None
            decided = RetrainDecision.SKIPPED
            if ingested_run is not None:  # once per run and policy, however often ingested
                event_id = f"{uid}/{short_hash(f'{decision.monitor}/{ingested_run.run_id}', 24)}"
            else:
                last = policy_decisions(engine, namespace, name, monitor=decision.monitor, limit=1)
                if last and last[0].reason == decision.reason:
                    continue  # the sweep found nothing new
                stamp = now.isoformat()
                event_id = (
                    f"{uid}/{short_hash(f'{decision.monitor}/{decision.reason}/{stamp}', 24)}"
                )
        record_decision(
            engine,
            RetrainEventRow(
                event_id=event_id,
                namespace=namespace,
                policy_name=name,
                monitor_name=decision.monitor,
                decision=decided,
                reason=decision.reason,
                created_at=now,
                run_id=run_id,
                job_name=None,
                outcome=None,
                decision_key=key,
                message=decision.message[:4000],
            ),
        )
        if rt.op.metrics is not None:  # driftwarden_retrain_decisions_total
            rt.op.metrics.count_retrain_decision(namespace, name, str(decided), decision.reason)


def _serving_metrics(rt: Retraining, run: RetrainRun) -> dict[str, float]:
    """The serving model's last measured metrics: the monitor's latest run that measured
    any (the current window's values)."""
    engine = rt.op.results
    if engine is None:
        return {}
    try:
        records = monitor_history(engine, run.metadata.namespace, run.spec.monitor_name, limit=20)
        for record in records:
            rows = run_rows(engine, record.run_id).performance
            values = {
                r.metric: r.value for r in rows if r.split == "current" and r.value is not None
            }
            if values:
                return values
    except DriftwardenError as exc:
        log.warning("results database: %s", exc)
    return {}


def _job_metrics(rt: Retraining, job: Mapping[str, Any]) -> dict[str, float] | None:
    """The metrics a training container wrote as its termination message (newest Pod)."""
    metadata = _meta(job)
    pods = rt.op.cluster.list(
        POD,
        str(metadata.get("namespace")),
        f"batch.kubernetes.io/controller-uid={metadata.get('uid')}",
    )
    pods.sort(key=lambda p: str(_meta(p).get("creationTimestamp") or ""), reverse=True)
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated") or {}
            found = parse_training_metrics(terminated.get("message"))
            if found is not None:
                return found
    return None


def _follow(
    rt: Retraining,
    policy: RetrainPolicy,
    run: RetrainRun,
    job_body: Mapping[str, Any] | None,
    monitors: Sequence[ModelMonitor],
    now: datetime,
) -> None:
    """A RetrainRun's status from its Job (and the trained model's validation)."""
    job = TrainingJob.from_manifest(job_body) if job_body is not None else None
    metrics = validation = None
    if job_body is not None and job is not None and job.succeeded and not run.status.metrics:
        metrics = _job_metrics(rt, job_body)
        validation = validate_model(policy.spec.validation, metrics, _serving_metrics(rt, run))
    elif job is not None and job.succeeded:
        return  # validated before: nothing new to learn
    update = plan_retrain_run_update(
        run,
        job,
        now,
        timeout=approval_timeout(policy),
        metrics=metrics,
        validation=validation,
    )
    engine = rt.op.results
    if engine is not None:
        # The decision is recorded for every RetrainRun that exists (a kill between its
        # creation and the record loses nothing); its outcome follows.
        record_decision(
            engine,
            RetrainEventRow(
                event_id=f"{run.metadata.namespace}/{run.metadata.name}",
                namespace=run.metadata.namespace,
                policy_name=policy.metadata.name,
                monitor_name=run.spec.monitor_name,
                decision=RetrainDecision.TRIGGERED,
                reason=c.TRIGGERED,
                created_at=run.metadata.creation_timestamp or now,
                run_id=run.spec.run_id,
                decision_key=f"{run.metadata.namespace}/{run.metadata.name}",
                message=f"{run.spec.trigger} on monitor {run.spec.monitor_name}",
            ),
        )
        ended = update.outcome in _FINAL_OUTCOMES and run_outcome(run) != update.outcome
        if ended and rt.op.metrics is not None:  # driftwarden_retrain_runs_total
            rt.op.metrics.count_retrain_run(
                run.metadata.namespace, policy.metadata.name, str(update.outcome)
            )
        if update.changed or run_outcome(run) != update.outcome:
            update_outcome(
                engine,
                f"{run.metadata.namespace}/{run.metadata.name}",
                outcome=update.outcome,
                job_name=update.status.job_name,
                finished_at=update.finished,
            )
    if not update.changed:
        return
    body = run.model_dump(mode="json", by_alias=True, exclude_none=True)
    try:
        rt.op.cluster.merge_patch(
            RETRAIN_RUN,
            run.metadata.namespace,
            run.metadata.name,
            {"status": update.status.model_dump(mode="json", by_alias=True)},
            subresource="status",
        )
    except NotFoundError:
        return
    for event in update.events:
        rt.op.cluster.post_event(body, str(event.type), event.reason, event.message)
