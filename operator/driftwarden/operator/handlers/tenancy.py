"""Per-namespace results-database credentials (`--manage-tenant-credentials`): the glue.

The operator holds the administrative connection. For each namespace with ModelMonitors it
keeps a PostgreSQL role (row-level security: that namespace's rows only) and that role's URL
in the Secret `driftwarden-tenant-results` of the namespace; the detector Pods read that
Secret, never the shared credential. The decision is `reconcile.tenancy.plan_tenancy`; this
module gathers (monitors, the Secret, the role's issue time), applies and registers:

- before a monitor's objects are applied (`Operator.before_apply`), its namespace's
  credentials are made to exist, so no Pod starts without its Secret; a foreign Secret of
  the name stalls the monitor (ObjectConflict);
- a deleted ModelMonitor re-checks its namespace: the last one gone, the Secret is deleted
  and the role dropped;
- events of that Secret (a watch with `fieldSelector=metadata.name=...`: the only Secrets
  the operator may list) re-check it: a rotation request, a deleted or edited Secret, a
  foreign one removed;
- on start, every namespace the database has a role for is re-checked (monitors deleted
  while the operator was down).

One lock per namespace: two monitors' reconciles never issue two passwords at once. A
password exists in memory only between its grant and the Secret's write; it is never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import kopf
from sqlalchemy.engine import Engine

from driftwarden.detectors.errors import DriftwardenError
from driftwarden.detectors.storage.tenancy import (
    grant_tenant,
    issued_at,
    revoke_tenant,
    tenants,
)
from driftwarden.operator.api.common import GROUP, VERSION, SecretKeyRef
from driftwarden.operator.api.modelmonitor import ModelMonitor
from driftwarden.operator.api.tenancy import (
    REASON_ISSUED,
    REASON_REFUSED,
    REASON_REMOVED,
    REASON_ROTATED,
    TENANT_SECRET_KEY,
    TENANT_SECRET_NAME,
)
from driftwarden.operator.k8s.errors import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    TransientApiError,
)
from driftwarden.operator.k8s.objects import MODEL_MONITOR, Cluster
from driftwarden.operator.k8s.secrets import (
    create_secret,
    delete_secret,
    read_secret,
    replace_secret,
)
from driftwarden.operator.reconcile.status import Stall
from driftwarden.operator.reconcile.tenancy import (
    ObservedTenancy,
    TenancyAction,
    TenancyPlan,
    database_fingerprint,
    plan_tenancy,
    refusal,
    tenant_secret,
)

from .retry import Key, RetryQueue

log = logging.getLogger("driftwarden.operator.tenancy")

TENANT_SECRET: Final = SecretKeyRef(name=TENANT_SECRET_NAME, key=TENANT_SECRET_KEY)
"""What the detector Pods read when the operator manages the credentials."""
ATTEMPTS: Final = 3
SETTLED_SECONDS: Final = 300.0
"""How long a namespace found in order is trusted without looking again: a role re-passworded
behind the operator's back (`driftwarden db tenant grant`) is noticed within this time of
the namespace's next monitor event, at the cost of three reads per namespace at most."""


def tenancy_problem(enabled: bool, engine: Engine | None) -> str | None:
    """Why `--manage-tenant-credentials` cannot work with this results database, or None."""
    if not enabled:
        return None
    if engine is None:
        return "--manage-tenant-credentials needs --database-url (the administrative connection)"
    if engine.dialect.name != "postgresql":
        return f"--manage-tenant-credentials needs PostgreSQL, not {engine.dialect.name}"
    return None


class TenancyUnavailableError(TransientApiError):
    """The results database could not be asked or changed: retried like a 5xx."""


def _unavailable(namespace: str, exc: DriftwardenError) -> TenancyUnavailableError:
    """The error for the monitors' status (tenants read it: no host, no detail); the detail
    goes to the operator's log only."""
    log.warning("%s: results database: %s", namespace, exc)
    return TenancyUnavailableError(
        0, "ResultsDatabase", "the results database cannot issue this namespace's credentials"
    )


class Tenancy:
    """The operator's side of the per-namespace credentials (see the module docstring)."""

    def __init__(
        self,
        cluster: Cluster,
        engine: Engine,
        namespaces: tuple[str, ...] = (),
        reconcile_monitor: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.cluster = cluster
        self.engine = engine
        self.namespaces = namespaces
        self.reconcile_monitor = reconcile_monitor
        url = engine.url
        self.database = database_fingerprint(url.host, url.port, url.database)
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}
        self._ready: dict[str, float] = {}  # namespace -> when it was found in order
        self._refused: set[str] = set()

    # --- the hook and the entry points -----------------------------------------------------

    def prepare(self, monitor: ModelMonitor) -> Stall | None:
        """Before a monitor's objects are applied: its namespace's credentials exist (a
        Stall when a foreign Secret holds the name). Cheap once the namespace is settled."""
        namespace = monitor.metadata.namespace
        settled = self._ready.get(namespace)
        if settled is not None and time.monotonic() - settled < SETTLED_SECONDS:
            return None
        return self.reconcile(namespace, reconciling=monitor.metadata.name)

    def reconcile(self, namespace: str, reconciling: str | None = None) -> Stall | None:
        """Make `namespace`'s role and Secret what `plan_tenancy` says; when a refusal just
        ended, reconcile its monitors again (Stalled ones are not retried by themselves),
        but for `reconciling`, the one whose reconcile asked. `ApiError`
        (TenancyUnavailableError for the database) when it could not: retried."""
        with self._lock(namespace):
            for _ in range(ATTEMPTS):
                observed = self._observe(namespace)
                plan = plan_tenancy(observed)
                try:
                    self._act(observed, plan)
                except (AlreadyExistsError, ConflictError):
                    continue  # the Secret changed meanwhile: look again
                break
            else:
                raise ConflictError(409, "Conflict", f"Secret {TENANT_SECRET_NAME} keeps changing")
            refused_before = namespace in self._refused
            if plan.action == TenancyAction.REFUSE:
                self._ready.pop(namespace, None)
                self._refused.add(namespace)
                return refusal(plan)
            self._refused.discard(namespace)
            if observed.monitors:
                self._ready[namespace] = time.monotonic()
            else:
                self._ready.pop(namespace, None)
        if refused_before and observed.monitors:
            self._reconcile_monitors(namespace, reconciling)
        return None

    def forget(self, namespace: str) -> None:
        """Something changed in `namespace` (a monitor deleted, the Secret touched): the
        next `prepare` looks again."""
        self._ready.pop(namespace, None)

    def sweep(self) -> None:
        """Re-check every namespace the database has a role for (on start: monitors deleted
        while the operator was down leave a role behind)."""
        try:
            recorded = sorted(tenants(self.engine))
        except DriftwardenError as exc:
            log.warning("tenant roles not listed: %s", exc)
            return
        for namespace in recorded:
            if self.namespaces and namespace not in self.namespaces:
                continue
            try:
                self.reconcile(namespace)
            except ApiError as exc:
                log.warning("tenant credentials of %s: %s", namespace, exc)

    # --- gather and apply -----------------------------------------------------------------

    def _lock(self, namespace: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(namespace, threading.RLock())

    def _observe(self, namespace: str) -> ObservedTenancy:
        monitors = [
            item
            for item in self.cluster.list(MODEL_MONITOR, namespace)
            if not (item.get("metadata") or {}).get("deletionTimestamp")
        ]
        secret = read_secret(self.cluster, namespace, TENANT_SECRET_NAME)
        try:
            issued = issued_at(self.engine, namespace)
        except DriftwardenError as exc:
            raise _unavailable(namespace, exc) from None
        return ObservedTenancy(namespace, len(monitors), secret, issued, self.database)

    def _act(self, observed: ObservedTenancy, plan: TenancyPlan) -> None:
        namespace, secret = observed.namespace, observed.secret
        action = plan.action
        if action == TenancyAction.NONE:
            return
        if action == TenancyAction.REFUSE:
            if namespace not in self._refused:
                log.warning("%s: %s", namespace, plan.why)
                assert secret is not None
                self.cluster.post_event(secret, "Warning", REASON_REFUSED, plan.why)
            return
        if action in (TenancyAction.ISSUE, TenancyAction.REISSUE):
            self._issue(observed, plan)
            return
        if action == TenancyAction.REMOVE:
            assert secret is not None
            metadata = secret.get("metadata") or {}
            delete_secret(
                self.cluster,
                namespace,
                TENANT_SECRET_NAME,
                str(metadata.get("uid")),
                str(metadata.get("resourceVersion")),
            )
        self._revoke(namespace)
        log.info("%s: tenant credentials removed (%s)", namespace, plan.why)

    def _issue(self, observed: ObservedTenancy, plan: TenancyPlan) -> None:
        namespace, secret = observed.namespace, observed.secret
        now = datetime.now(UTC)
        try:
            granted = grant_tenant(self.engine, namespace, now=now)
        except DriftwardenError as exc:
            raise _unavailable(namespace, exc) from None
        url = granted.url(self.engine.url).render_as_string(hide_password=False)
        desired = tenant_secret(
            namespace, url, now, self.database, rotation=plan.rotation, previous=secret
        )
        del url
        if secret is None:
            written = create_secret(self.cluster, desired)
            reason = REASON_ISSUED
        else:
            version = str((secret.get("metadata") or {}).get("resourceVersion"))
            written = replace_secret(self.cluster, desired, version)
            reason = REASON_ROTATED
        # Log and Event name the role and the cause, never the password.
        message = f"role {granted.role}: {plan.why}"
        log.info("%s: %s %s", namespace, reason, message)
        self.cluster.post_event(written, "Normal", reason, message)

    def _revoke(self, namespace: str) -> None:
        try:
            dropped = revoke_tenant(self.engine, namespace)
        except DriftwardenError as exc:
            raise _unavailable(namespace, exc) from None
        if dropped:
            log.info("%s: %s: its role was dropped", namespace, REASON_REMOVED)

    def _reconcile_monitors(self, namespace: str, but: str | None) -> None:
        if self.reconcile_monitor is None:
            return
        for item in self.cluster.list(MODEL_MONITOR, namespace):
            if (item.get("metadata") or {}).get("name") == but:
                continue
            try:
                self.reconcile_monitor(item)
            except ApiError as exc:
                log.warning("reconciling %s: %s", (item.get("metadata") or {}).get("name"), exc)


def register_tenancy(registry: kopf.OperatorRegistry, tenancy: Tenancy) -> None:
    """The handlers of the tenant credentials (beside the monitors' own, with their own
    retry queue: a namespace whose database call failed is re-checked with a backoff)."""

    def work(key: Key) -> None:
        tenancy.reconcile(key[1])

    retries = RetryQueue(work)

    def recheck(namespace: str) -> None:
        key: Key = ("tenancy", namespace, "")
        tenancy.forget(namespace)
        try:
            tenancy.reconcile(namespace)
        except ApiError as exc:
            log.warning("tenant credentials of %s: %s (retried)", namespace, exc)
            retries.failed(key)
        else:
            retries.succeeded(key)

    @kopf.on.startup(registry=registry)
    def tenancy_startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        # The only Secrets the operator may list and watch (RBAC names this one).
        settings.watching.field_selectors["", "secrets"] = f"metadata.name={TENANT_SECRET_NAME}"
        tenancy.sweep()

    @kopf.on.event(GROUP, VERSION, "modelmonitors", id="tenancy", registry=registry)
    def tenancy_monitor_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if type == "DELETED":
            recheck(str(body.metadata.namespace))

    @kopf.on.event("", "v1", "secrets", id="tenancy", registry=registry)
    def tenancy_secret_event(body: kopf.Body, type: str | None, **_: Any) -> None:
        if body.metadata.name != TENANT_SECRET_NAME:
            return
        namespace = str(body.metadata.namespace)
        if tenancy.namespaces and namespace not in tenancy.namespaces:
            return
        recheck(namespace)
