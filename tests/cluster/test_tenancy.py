"""Per-namespace results-database credentials, issued by the operator (real API server, real
PostgreSQL roles and row-level security, `driftwarden run` through the pod runner).

The operator runs as a ServiceAccount bound to exactly what it ships with: OPERATOR_RULES
everywhere and TENANCY_RULES (create Secrets; everything else on the one Secret name) in the
watched namespaces, the way the chart binds them with `watch.namespaces`. The class's own
results Secret exists in no namespace: a run that works read the tenant Secret.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import sqlalchemy as sa
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from sqlalchemy.engine import make_url

from cluster.controlplane import ControlPlane, wait_for
from cluster.plugin import create_test_namespace
from cluster.podrunner import PodRunner
from cluster.test_operator import (  # fixtures too
    OperatorProcess,
    _apply,
    _await,
    _condition,
    _events,
    _last_run,
    _monitor,
    _run_now,
    crds,
    databases,
    monitor_class,
    operator_rights,
)
from driftwarden.detectors.storage import create_engine
from driftwarden.detectors.storage.tenancy import grant_tenant, role_name
from driftwarden.operator.api import GROUP, VERSION
from driftwarden.operator.k8s.rbac import tenancy_cluster_role

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

__all__ = ["crds", "databases", "monitor_class", "operator_rights"]

SECRET = "driftwarden-tenant-results"
OPERATOR_ROLE = "driftwarden-operator-test"  # OPERATOR_RULES (test_operator.operator_rights)
TENANCY_ROLE = "driftwarden-operator-tenancy-test"


@pytest.fixture
def other_namespaces(admin_api: k8s.ApiClient) -> Iterator[tuple[str, str]]:
    """Two more namespaces (B and C) beside the test's own (A)."""
    core = k8s.CoreV1Api(admin_api)
    names = (f"t-tenant-b-{secrets.token_hex(3)}", f"t-tenant-c-{secrets.token_hex(3)}")
    for name in names:
        create_test_namespace(core, name)
    yield names
    for name in names:
        try:
            core.delete_namespace(name)
        except ApiException as e:
            if e.status != 404:
                raise


def _secret(api: k8s.ApiClient, namespace: str) -> dict[str, Any] | None:
    try:
        found = k8s.CoreV1Api(api).read_namespaced_secret(SECRET, namespace)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    result: dict[str, Any] = api.sanitize_for_serialization(found)
    return result


def _url(secret: dict[str, Any]) -> str:
    return base64.b64decode(secret["data"]["url"]).decode()


def _has_role(dsn: str, namespace: str) -> tuple[bool, bool]:
    """(a PostgreSQL role exists, tenant_roles records it) for `namespace`."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role_name(namespace),))
            role = cursor.fetchone() is not None
            cursor.execute("SELECT 1 FROM tenant_roles WHERE namespace = %s", (namespace,))
            row = cursor.fetchone() is not None
    finally:
        conn.close()
    return role, row


def _as_tenant(url: str) -> sa.engine.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _tenant_view(url: str) -> dict[str, set[str]]:
    """What a tenant's credential can read: namespaces per history table."""
    engine = _as_tenant(url)
    try:
        with engine.connect() as conn:
            return {
                table: {
                    str(row[0])
                    for row in conn.execute(
                        sa.text(f"SELECT DISTINCT monitor_namespace FROM {table}")
                    )
                }
                for table in ("monitor_runs", "drift_results")
            }
    finally:
        engine.dispose()


def _cannot_write_into(url: str, other: str) -> None:
    """The tenant's credential can neither insert, update nor delete `other`'s rows."""
    engine = _as_tenant(url)
    try:
        with (
            pytest.raises(sa.exc.ProgrammingError, match="row-level security"),
            engine.begin() as conn,
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO monitor_runs (run_id, monitor_namespace, monitor_name, "
                    "started_at, outcome) VALUES ('forged', :ns, 'x', now(), 'Succeeded')"
                ),
                {"ns": other},
            )
        with engine.begin() as conn:
            changed = conn.execute(
                sa.text("UPDATE monitor_runs SET outcome = 'Failed' WHERE monitor_namespace = :ns"),
                {"ns": other},
            ).rowcount
            deleted = conn.execute(
                sa.text("DELETE FROM monitor_runs WHERE monitor_namespace = :ns"), {"ns": other}
            ).rowcount
        assert (changed, deleted) == (0, 0)
    finally:
        engine.dispose()


def _refused_login(url: str) -> bool:
    engine = _as_tenant(url)
    try:
        with engine.connect():
            return False
    except sa.exc.OperationalError as exc:
        return "password authentication failed" in str(exc)
    finally:
        engine.dispose()


@pytest.fixture
def tenancy_operator(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    namespace: str,
    other_namespaces: tuple[str, str],
    databases: dict[str, str],
    operator_rights: None,
    pod_runner: PodRunner,
    tmp_path: Path,
) -> Iterator[OperatorProcess]:
    """`driftwarden operator --manage-tenant-credentials` watching A, B and C as a
    ServiceAccount with the shipped rules only."""
    core = k8s.CoreV1Api(admin_api)
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    watched = (namespace, *other_namespaces)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "operator"}})
    subject = {"kind": "ServiceAccount", "name": "operator", "namespace": namespace}
    try:
        rbac.create_cluster_role(tenancy_cluster_role(TENANCY_ROLE))
    except ApiException as e:
        if e.status != 409:
            raise
        rbac.replace_cluster_role(TENANCY_ROLE, tenancy_cluster_role(TENANCY_ROLE))
    binding = f"tenancy-{namespace}"
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": binding},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": OPERATOR_ROLE,
            },
            "subjects": [subject],
        }
    )
    for ns in watched:  # the Secret rights only where it works (the chart's Roles)
        rbac.create_namespaced_role_binding(
            ns,
            {
                "metadata": {"name": "driftwarden-operator-tenancy"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": TENANCY_ROLE,
                },
                "subjects": [subject],
            },
        )
    token = control_plane.service_account_token(namespace, "operator")
    kubeconfig = control_plane.write_kubeconfig(tmp_path / "operator.kubeconfig", "sa", token)
    sa_core = k8s.CoreV1Api(control_plane.token_client(token))

    def rights_arrived() -> bool:
        try:
            for ns in watched:
                sa_core.list_namespaced_secret(ns, field_selector=f"metadata.name={SECRET}")
        except ApiException as e:
            if e.status == 403:
                return False
            raise
        return True

    wait_for(rights_arrived, 30, "the tenancy rights never arrived")
    # Only the one name: any other Secret (or a list of all) is refused.
    with pytest.raises(ApiException) as refused:
        sa_core.list_namespaced_secret(namespace)
    assert refused.value.status == 403
    with pytest.raises(ApiException) as refused:
        sa_core.read_namespaced_secret("inference-db", namespace)
    assert refused.value.status == 403

    extra = ["--namespace", other_namespaces[0], "--namespace", other_namespaces[1]]
    process = OperatorProcess(
        control_plane,
        namespace,
        tmp_path / "operator.log",
        *extra,
        "--watch-inactivity-timeout=30",
        "--metrics-port=0",
        "--manage-tenant-credentials",
        f"--database-url={databases['results']}",
        kubeconfig=kubeconfig,
    )
    process.start()
    yield process
    process.stop()
    rbac.delete_cluster_role_binding(binding)


def test_each_namespace_gets_its_own_role_and_secret_and_sees_only_its_rows(
    admin_api: k8s.ApiClient,
    namespace: str,
    other_namespaces: tuple[str, str],
    monitor_class: str,
    databases: dict[str, str],
    tenancy_operator: OperatorProcess,
) -> None:
    core = k8s.CoreV1Api(admin_api)
    a, (b, c) = namespace, other_namespaces
    admin_dsn = databases["results_dsn"]
    shared_password = make_url(databases["results"]).password
    assert shared_password
    for ns in (a, b):  # the users' source database; no `results` Secret anywhere
        core.create_namespaced_secret(
            ns, {"metadata": {"name": "inference-db"}, "stringData": {"url": databases["source"]}}
        )

    # Monitors in A and B: each namespace gets its role and its Secret.
    _apply(admin_api, a, _monitor("credit", monitor_class))
    _apply(admin_api, b, _monitor("credit", monitor_class, table="clean_log"))
    for ns in (a, b):
        _await(admin_api, ns, "credit", lambda o: _condition(o, "Ready").get("status") == "True",
               tenancy_operator, 60)  # fmt: skip
        secret = _secret(admin_api, ns)
        assert secret is not None
        labels = secret["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "driftwarden-operator"
        assert labels["app.kubernetes.io/component"] == "tenant-credentials"
        url = make_url(_url(secret))
        assert url.username == role_name(ns)
        assert url.password != shared_password
        assert _has_role(admin_dsn, ns) == (True, True)
        cronjob = k8s.BatchV1Api(admin_api).read_namespaced_cron_job("credit", ns)
        env = cronjob.spec.job_template.spec.template.spec.containers[0].env
        refs = {e.name: e.value_from.secret_key_ref.name for e in env if e.value_from and
                e.value_from.secret_key_ref}  # fmt: skip
        assert refs["DRIFTWARDEN_DATABASE_URL"] == SECRET
    url_a, url_b = _url(_secret(admin_api, a) or {}), _url(_secret(admin_api, b) or {})

    # Runs in each namespace succeed with their own credential.
    # (Distinct request values: a run id is a Job name, unique per namespace only, while
    # monitor_runs keys runs by run id alone, so equal ids in two namespaces collide.)
    for ns in (a, b):
        _run_now(admin_api, ns, "credit", f"first-{ns}")
    runs = {}
    for ns in (a, b):
        done = _await(
            admin_api,
            ns,
            "credit",
            lambda o: "-now-" in _last_run(o).rpartition("/")[2],  # ns/job: the Job part
            tenancy_operator,
        )
        assert _condition(done, "LastRunSucceeded")["status"] == "True", done["status"]
        runs[ns] = _last_run(done)

    # Each credential reads its own rows only, and cannot write the other's.
    assert _tenant_view(url_a) == {"monitor_runs": {a}, "drift_results": {a}}
    assert _tenant_view(url_b) == {"monitor_runs": {b}, "drift_results": {b}}
    _cannot_write_into(url_a, b)
    _cannot_write_into(url_b, a)
    # The shared credential to the results database is in no tenant namespace (the source
    # database of the test shares the server's superuser; that one is the user's own).
    results_db = make_url(databases["results"]).database
    for ns in (a, b, c):
        for item in core.list_namespaced_secret(ns).items:
            for value in (item.data or {}).values():
                text = base64.b64decode(value).decode(errors="replace")
                if results_db in text:
                    assert make_url(text).username == role_name(ns), item.metadata.name

    # Rotation: a new value of the annotation gives A a new password, once.
    before = _secret(admin_api, a)
    assert before is not None
    core.patch_namespaced_secret(
        SECRET, a, {"metadata": {"annotations": {"driftwarden.io/rotate": "r1"}}}
    )

    def rotated() -> bool:
        found = _secret(admin_api, a) or {}
        annotations = found.get("metadata", {}).get("annotations") or {}
        return annotations.get("driftwarden.io/rotated") == "r1"

    wait_for(rotated, 60, tenancy_operator.tail)
    after = _secret(admin_api, a)
    assert after is not None
    new_url_a = _url(after)
    assert new_url_a != url_a
    assert _refused_login(url_a)  # the old password stopped working
    assert _tenant_view(new_url_a)["monitor_runs"] == {a}
    assert "TenantCredentialsRotated" in {e.reason for e in _events(admin_api, a, SECRET)}
    _run_now(admin_api, a, "credit", "second")
    done = _await(
        admin_api, a, "credit", lambda o: _last_run(o) not in ("", runs[a]), tenancy_operator
    )
    assert _condition(done, "LastRunSucceeded")["status"] == "True", done["status"]
    assert _url(_secret(admin_api, a) or {}) == new_url_a  # rotated once, not per event

    # A password changed behind the operator's back (`driftwarden db tenant grant`): the next
    # look at the namespace (here: an edit of the Secret) finds it stale and issues it again.
    engine = create_engine(databases["results"])
    try:
        grant_tenant(engine, a)
    finally:
        engine.dispose()
    assert _refused_login(new_url_a)
    core.patch_namespaced_secret(SECRET, a, {"metadata": {"labels": {"touched": "yes"}}})
    wait_for(lambda: _url(_secret(admin_api, a) or {}) != new_url_a, 60, tenancy_operator.tail)
    reissued_url_a = _url(_secret(admin_api, a) or {})
    assert _tenant_view(reissued_url_a)["monitor_runs"] == {a}

    # The last monitor of B gone: its Secret and role go; A keeps its own.
    k8s.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, b, "modelmonitors", "credit"
    )
    wait_for(lambda: _secret(admin_api, b) is None, 60, tenancy_operator.tail)
    wait_for(lambda: _has_role(admin_dsn, b) == (False, False), 30, tenancy_operator.tail)
    assert _refused_login(url_b)
    assert _has_role(admin_dsn, a) == (True, True)
    assert _secret(admin_api, a) is not None

    # C: a Secret of the planned name that is not ours is refused, never overwritten.
    foreign = core.create_namespaced_secret(
        c, {"metadata": {"name": SECRET}, "stringData": {"url": "postgresql://someone@else/db"}}
    )
    core.create_namespaced_secret(
        c, {"metadata": {"name": "inference-db"}, "stringData": {"url": databases["source"]}}
    )
    _apply(admin_api, c, _monitor("credit", monitor_class))
    stalled = _await(admin_api, c, "credit",
                     lambda o: _condition(o, "Stalled").get("status") == "True", tenancy_operator,
                     60)  # fmt: skip
    assert _condition(stalled, "Stalled")["reason"] == "ObjectConflict"
    assert SECRET in _condition(stalled, "Stalled")["message"]
    untouched = _secret(admin_api, c)
    assert untouched is not None
    assert untouched["metadata"]["resourceVersion"] == foreign.metadata.resource_version
    assert _url(untouched) == "postgresql://someone@else/db"
    assert _has_role(admin_dsn, c) == (False, False)
    assert "TenantSecretConflict" in {e.reason for e in _events(admin_api, c, SECRET)}
    # Its owner removes it: the operator issues C's own, and the monitor goes on.
    core.delete_namespaced_secret(SECRET, c)
    _await(admin_api, c, "credit", lambda o: _condition(o, "Ready").get("status") == "True",
           tenancy_operator, 60)  # fmt: skip
    issued = _secret(admin_api, c)
    assert issued is not None
    assert make_url(_url(issued)).username == role_name(c)

    # A monitor deleted while the operator is down: the start-up sweep removes C's role.
    tenancy_operator.stop()
    k8s.CustomObjectsApi(admin_api).delete_namespaced_custom_object(
        GROUP, VERSION, c, "modelmonitors", "credit"
    )
    tenancy_operator.start()
    wait_for(lambda: _secret(admin_api, c) is None, 60, tenancy_operator.tail)
    wait_for(lambda: _has_role(admin_dsn, c) == (False, False), 30, tenancy_operator.tail)

    # No password of any kind in the operator's log.
    log = tenancy_operator.log_path.read_text(errors="replace")
    for url in (url_a, new_url_a, reissued_url_a, url_b, _url(issued)):
        password = make_url(url).password
        assert password
        assert password not in log
    assert shared_password not in log
