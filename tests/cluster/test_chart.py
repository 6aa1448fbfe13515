"""`helm install` of charts/driftwarden into the real control plane, then the operator the
chart installed runs (as a local process: no images run here) with the chart's operator
ServiceAccount token and a monitor run ends in its status, which proves the chart's RBAC is
enough; impersonation through the real authorizer proves it is no more than needed; `helm
test` runs its Pod through the pod runner; `helm uninstall` keeps the CRDs.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from pg import PostgresServer

from cluster.chartops import LocalOperator, helm, service_account_kubeconfig
from cluster.controlplane import ControlPlane, wait_for
from cluster.plugin import create_test_namespace
from cluster.podrunner import PodRunner
from cluster.test_operator import _condition, _last_run, _run_now, source_tables
from driftwarden.detectors.storage import create_engine, upgrade
from driftwarden.operator.api import GROUP, VERSION

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "driftwarden"


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, str]]:
    with PostgresServer.start() as server:
        source = server.create_database("chart_source")
        results = server.create_database("chart_results")
        source_tables(server.dsn("chart_source"))
        yield {"source": source, "results": results, "results_dsn": server.dsn("chart_results")}


def _secret(core: k8s.CoreV1Api, namespace: str, name: str, url: str) -> None:
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": name}, "stringData": {"url": url}}
    )


def rules_review(admin: k8s.ApiClient, user: str, namespace: str) -> dict[str, set[str]]:
    """What `user` may do in `namespace`, by resource (`jobs.batch`, `pods`): a
    SelfSubjectRulesReview made as that user through impersonation, which is what
    `kubectl auth can-i --list --as USER -n NS` sends (the real authorizer answers)."""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    review = k8s.AuthorizationV1Api(admin).create_self_subject_rules_review(
        body, _headers={"Impersonate-User": user}
    )
    rights: dict[str, set[str]] = {}
    for rule in review.status.resource_rules:
        for group in rule.api_groups or [""]:
            for resource in rule.resources or []:
                base, _, sub = resource.partition("/")
                name = f"{base}.{group}" if group else base
                rights.setdefault(f"{name}/{sub}" if sub else name, set()).update(rule.verbs)
    return rights


def can_i_list(
    kubectl: str, admin_kubeconfig: Path, user: str, namespace: str
) -> dict[str, set[str]]:
    """`kubectl auth can-i --list --as USER -n NS`: resource -> verbs."""
    out = subprocess.run(
        [kubectl, "--kubeconfig", str(admin_kubeconfig), "auth", "can-i", "--list",
         "--as", user, "-n", namespace],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rights: dict[str, set[str]] = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if not parts or parts[0].startswith("["):  # non-resource URLs
            continue
        verbs = line[line.rindex("[") + 1 : line.rindex("]")].split()
        rights.setdefault(parts[0], set()).update(verbs)
    return rights


def rights_of(
    admin: k8s.ApiClient, admin_kubeconfig: Path, user: str, ns: str
) -> dict[str, set[str]]:
    """The rules review; where kubectl is installed, `kubectl auth can-i --list` must agree."""
    rights = rules_review(admin, user, ns)
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        assert can_i_list(kubectl, admin_kubeconfig, user, ns) == rights
    return rights


def can_i(admin: k8s.ApiClient, user: str, verb: str, group: str, resource: str, ns: str) -> bool:
    """`kubectl auth can-i VERB RESOURCE -n NS --as USER` (a SelfSubjectAccessReview)."""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": ns, "verb": verb, "group": group, "resource": resource,
            }
        },
    }  # fmt: skip
    review = k8s.AuthorizationV1Api(admin).create_self_subject_access_review(
        body, _headers={"Impersonate-User": user}
    )
    return bool(review.status.allowed)


@pytest.mark.parametrize("namespaced", [True, False], ids=["watch-list", "all-namespaces"])
def test_helm_install_then_the_operator_runs_a_monitor_with_the_chart_rights_only(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    pod_runner: PodRunner,
    databases: dict[str, str],
    tmp_path: Path,
    namespaced: bool,
) -> None:
    release = "dwchart-ns" if namespaced else "dwchart-all"
    klass_name, operator_sa = f"{release}-default", f"{release}-driftwarden-operator"
    core = k8s.CoreV1Api(admin_api)
    custom = k8s.CustomObjectsApi(admin_api)
    suffix = tmp_path.name[-6:].lower().replace("_", "-").strip("-") or "x"
    system, watched, other = f"dw-system-{suffix}", f"dw-risk-{suffix}", f"dw-other-{suffix}"
    for name in (system, watched, other):
        create_test_namespace(core, name)
    _secret(core, system, "results", databases["results"])
    _secret(core, watched, "inference-db", databases["source"])
    _secret(core, watched, "driftwarden-results", databases["results"])
    _secret(core, other, "unwatched", "postgresql://nobody@nowhere/none")
    admin_kubeconfig = control_plane.kubeconfig("admin")
    home = tmp_path / "helm"
    operator: LocalOperator | None = None
    try:
        helm(
            control_plane.helm, admin_kubeconfig, home,
            "install", release, str(CHART), "-n", system,
            # Other tests of the session may have applied the CRDs already.
            "--take-ownership",
            "--set", (
                f"watch.namespaces={{{watched}}}" if namespaced
                else f"detector.serviceAccount.extraNamespaces={{{watched}}}"
            ),
            "--set", "database.existingSecret.name=results",
            "--set", f"monitorClass.name={klass_name}",
            # The pod runner cannot resolve cluster DNS names: no Service check in `helm test`.
            "--set", "tests.checkService=false",
        )  # fmt: skip
        # The release made what the operator needs, with the chart's labels.
        deployment = k8s.AppsV1Api(admin_api).read_namespaced_deployment(
            f"{release}-driftwarden-operator", system
        )
        assert deployment.spec.template.spec.service_account_name == operator_sa
        klass = custom.get_cluster_custom_object(GROUP, VERSION, "monitorclasses", klass_name)
        assert klass["spec"]["serviceAccountName"] == "driftwarden-detector"
        core.read_namespaced_service_account("driftwarden-detector", watched)

        # The migration the init container would run, then the operator's own container.
        engine = create_engine(databases["results"])
        upgrade(engine)
        engine.dispose()
        kubeconfig = service_account_kubeconfig(
            admin_api, system, operator_sa, tmp_path / "operator-kubeconfig.yaml"
        )
        operator = LocalOperator.from_deployment(
            admin_api, system, f"{release}-driftwarden-operator", kubeconfig,
            tmp_path / "operator.log",
        )  # fmt: skip
        scope = f"--namespace={watched}" if namespaced else "--all-namespaces"
        assert scope in operator.argv
        assert operator.env["DRIFTWARDEN_DATABASE_URL"] == databases["results"]
        operator.start()
        wait_for(operator.alive, 60, operator.tail)

        # A monitor that names no class gets the chart's default class.
        monitor = _monitor_body()
        custom.create_namespaced_custom_object(GROUP, VERSION, watched, "modelmonitors", monitor)
        _run_now(admin_api, watched, "census", "chart-1")
        done = _await_run(admin_api, watched, operator)
        status = done["status"]
        assert _condition(done, "LastRunSucceeded")["status"] == "True", status
        assert _condition(done, "DriftDetected")["status"] == "True", status
        assert {f["name"] for f in status["topDriftedFeatures"]} >= {"income"}
        job = k8s.BatchV1Api(admin_api).list_namespaced_job(watched).items[0]
        assert job.spec.template.spec.service_account_name == "driftwarden-detector"

        # No more than needed: impersonate the operator's ServiceAccount.
        user = f"system:serviceaccount:{system}:{operator_sa}"
        in_watched = rights_of(admin_api, admin_kubeconfig, user, watched)
        in_other = rights_of(admin_api, admin_kubeconfig, user, other)
        in_system = rights_of(admin_api, admin_kubeconfig, user, system)
        for rights in (in_watched, in_other, in_system):
            assert "secrets" not in rights, rights
            assert not any("*" in verbs for verbs in rights.values()), rights
            assert "*.*" not in rights
        assert {"get", "list", "watch"} <= in_watched["modelmonitors.driftwarden.io"]
        assert {"create", "patch"} <= in_watched["jobs.batch"]
        assert "leases.coordination.k8s.io" in in_system
        assert "leases.coordination.k8s.io" not in in_watched
        assert "leases.coordination.k8s.io" not in in_other
        # Beyond what any ServiceAccount may do (a `default` one, bound to nothing): in a
        # namespace it does not watch, only the cluster-scoped classes.
        baseline = rights_of(
            admin_api, admin_kubeconfig, f"system:serviceaccount:{other}:default", other
        )
        if namespaced:
            assert set(in_other) - set(baseline) == {"monitorclasses.driftwarden.io"}
        else:
            assert set(in_other) == set(in_watched)
        for verb, group, resource in (
            ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
            ("bind", "rbac.authorization.k8s.io", "clusterroles"),
            ("impersonate", "", "serviceaccounts"),
            ("get", "", "secrets"),
            ("list", "", "secrets"),
        ):
            for namespace in (watched, other, system):
                assert not can_i(admin_api, user, verb, group, resource, namespace)
        # The check itself answers yes where the chart grants.
        assert can_i(admin_api, user, "create", "batch", "jobs", watched)
        # The detector ServiceAccount has nothing beyond discovery.
        detector = f"system:serviceaccount:{watched}:driftwarden-detector"
        assert rights_of(admin_api, admin_kubeconfig, detector, watched) == baseline

        # `helm test`: its Pod runs through the pod runner (`driftwarden db check` reads the
        # results Secret and the migrated schema; `driftwarden --version`).
        out = helm(control_plane.helm, admin_kubeconfig, home, "test", release, "-n", system)
        assert "Phase:          Succeeded" in out, out
        assert "compatible" in pod_runner.log(system, f"{release}-driftwarden-test", "database")

        helm(control_plane.helm, admin_kubeconfig, home, "uninstall", release, "-n", system)
        rbac = k8s.RbacAuthorizationV1Api(admin_api)
        names = {r.metadata.name for r in rbac.list_cluster_role().items}
        assert not any(n.startswith(f"{release}-driftwarden") for n in names)
        extensions = k8s.ApiextensionsV1Api(admin_api)
        extensions.read_custom_resource_definition(f"modelmonitors.{GROUP}")  # crds.keep
        custom.get_cluster_custom_object(GROUP, VERSION, "monitorclasses", klass_name)  # kept
    finally:
        if operator is not None:
            operator.stop()
        # A default class left behind would change which class other tests' monitors get.
        with contextlib.suppress(ApiException):
            custom.delete_cluster_custom_object(GROUP, VERSION, "monitorclasses", klass_name)
        for name in (system, watched, other):
            core.delete_namespace(name)


def _monitor_body() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelMonitor",
        "metadata": {"name": "census"},
        "spec": {
            "model": {"name": "credit-scoring", "version": "1"},
            "schedule": {"cron": "0 0 1 1 *"},
            "source": {
                "postgres": {
                    "connectionSecretRef": {"name": "inference-db", "key": "url"},
                    "table": "inference_log",
                    "timestampColumn": "ts",
                }
            },
            "baseline": {"relative": {"length": "14d", "endOffset": "2d"}},
            "current": {"relative": {"length": "1d"}},
            "features": [
                {"name": "age", "type": "numeric"},
                {"name": "income", "type": "numeric"},
                {"name": "region", "type": "categorical"},
            ],
            "minSamples": 200,
        },
    }


def _await_run(api: k8s.ApiClient, namespace: str, operator: LocalOperator) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> bool:
        operator.alive()
        seen.clear()
        seen.update(
            k8s.CustomObjectsApi(api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, "modelmonitors", "census"
            )
        )
        return "-now-" in _last_run(seen).rpartition("/")[2]  # the Job part of ns/job

    wait_for(done, 240, lambda: f"status: {seen.get('status')}\n{operator.tail()}")
    return seen
