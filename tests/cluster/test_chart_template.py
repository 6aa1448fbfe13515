"""The Helm chart as `helm lint` and `helm template` see it, over a matrix of values.

The real helm binary (built with the test control plane by tests/controlplane/build.sh); no
API server is needed. What the rendered manifests must be: the CRDs equal to `crds/`, the
operator's rules equal to `OPERATOR_RULES` (no more, and bound only where it works), the
restricted security context, arguments the real `driftwarden` parser accepts, and values the
schema refuses with the path of the wrong key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.chartops import PENDING_FLAGS
from cluster.controlplane import ControlPlaneUnavailableError, locate_binaries
from cluster.plugin import cluster_required
from driftwarden.detectors.cli import build_parser
from driftwarden.operator.api.monitorclass import MonitorClass
from driftwarden.operator.k8s.chartrules import ADMISSION_RULES
from driftwarden.operator.k8s.rbac import OPERATOR_RULES, TENANCY_RULES

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "driftwarden"
RELEASE, NAMESPACE = "dw", "driftwarden-system"

Manifest = dict[str, Any]


@pytest.fixture(scope="session")
def helm_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        folder = locate_binaries(tmp_path_factory.mktemp("helm-build") / "build.log")
    except ControlPlaneUnavailableError as e:
        if cluster_required():
            pytest.fail(f"CI must run the chart tests: {e}", pytrace=False)
        pytest.skip(str(e))
    return folder / "bin" / "helm"


@pytest.fixture(scope="session")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm-home")


def run_helm(helm: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    return subprocess.run(
        [str(helm), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def render(
    helm: Path, home: Path, *values: str, chart: Path = CHART, api_versions: tuple[str, ...] = ()
) -> list[Manifest]:
    args = ["template", RELEASE, str(chart), "-n", NAMESPACE]
    for value in values:
        args += ["--set", value]
    for version in api_versions:
        args += ["--api-versions", version]
    done = run_helm(helm, home, *args)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def find(docs: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = find(docs, kind, name)
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def triples(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def operator_rules(docs: list[Manifest]) -> list[dict[str, Any]]:
    """Every rule of every Role and ClusterRole bound to the operator's ServiceAccount."""
    bound: set[tuple[str, str, str]] = set()
    for binding in find(docs, "RoleBinding") + find(docs, "ClusterRoleBinding"):
        subjects = binding.get("subjects", [])
        if any(s["name"] == f"{RELEASE}-driftwarden-operator" for s in subjects):
            namespace = binding["metadata"].get("namespace", "")
            bound.add((binding["roleRef"]["kind"], binding["roleRef"]["name"], namespace))
    rules: list[dict[str, Any]] = []
    for kind, name, namespace in bound:
        role = one(
            [d for d in docs if d["metadata"].get("namespace", "") == namespace]
            if kind == "Role"
            else docs,
            kind,
            name,
        )
        rules += role["rules"]
    return rules


# --- lint and defaults -------------------------------------------------------------------


def test_helm_lint_is_clean(helm_binary: Path, helm_home: Path) -> None:
    done = run_helm(helm_binary, helm_home, "lint", "--strict", str(CHART))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout


def test_the_crd_templates_are_the_generated_crds(helm_binary: Path, helm_home: Path) -> None:
    docs = render(helm_binary, helm_home)
    rendered = {d["metadata"]["name"]: d for d in find(docs, "CustomResourceDefinition")}
    committed = {}
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        committed[crd["metadata"]["name"]] = crd
    assert set(rendered) == set(committed)
    for name, crd in rendered.items():
        assert crd["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}
        assert crd == committed[name], f"{name} differs from crds/ (run `make crds`)"

    assert not find(
        render(helm_binary, helm_home, "crds.enabled=false"), "CustomResourceDefinition"
    )
    unkept = find(render(helm_binary, helm_home, "crds.keep=false"), "CustomResourceDefinition")
    assert unkept
    assert all("annotations" not in crd["metadata"] for crd in unkept)


def test_the_operator_gets_exactly_its_rules_and_nothing_dangerous(
    helm_binary: Path, helm_home: Path
) -> None:
    docs = render(helm_binary, helm_home)
    granted = triples(operator_rules(docs))
    assert granted == triples(OPERATOR_RULES) | triples(ADMISSION_RULES)
    for role in find(docs, "Role") + find(docs, "ClusterRole"):
        for group, resource, verb in triples(role["rules"]):
            assert "*" not in (group, resource, verb), role["metadata"]["name"]
            assert verb not in {"escalate", "bind", "impersonate"}, role["metadata"]["name"]
            # Secrets only with tenancy.enabled (test_tenancy_grants_exactly_the_one_secret).
            assert resource != "secrets", role["metadata"]["name"]
    # The Lease only in the release's namespace.
    lease_role = one(docs, "Role", f"{RELEASE}-driftwarden-leader-election")
    assert lease_role["metadata"]["namespace"] == NAMESPACE
    assert {r for _, r, _ in triples(lease_role["rules"])} == {"leases"}
    for cluster_role in find(docs, "ClusterRole"):
        assert "leases" not in {r for _, r, _ in triples(cluster_role["rules"])}


def _secret_rights(rules: list[dict[str, Any]]) -> set[tuple[str, tuple[str, ...]]]:
    """(verb, resourceNames) of every rule on Secrets; () for any name."""
    return {
        (verb, tuple(rule.get("resourceNames") or ()))
        for rule in rules
        if "secrets" in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize("watched", [(), ("team-a", "team-b")])
def test_tenancy_grants_exactly_the_one_secret(
    helm_binary: Path, helm_home: Path, watched: tuple[str, ...]
) -> None:
    values = ["tenancy.enabled=true", "database.existingSecret.name=results"]
    if watched:
        values.append("watch.namespaces={" + ",".join(watched) + "}")
    docs = render(helm_binary, helm_home, *values)
    granted = operator_rules(docs)
    expected = _secret_rights(TENANCY_RULES)
    assert expected == {
        ("create", ()),
        *((verb, ("driftwarden-tenant-results",)) for verb in ("get", "list", "watch")),
        *((verb, ("driftwarden-tenant-results",)) for verb in ("update", "delete")),
    }
    assert _secret_rights(granted) == expected
    assert triples(granted) == (
        triples(OPERATOR_RULES) | triples(ADMISSION_RULES) | triples(TENANCY_RULES)
    )
    tenancy_roles = [
        d
        for d in find(docs, "Role") + find(docs, "ClusterRole")
        if d["metadata"]["name"] == f"{RELEASE}-driftwarden-operator-tenancy"
    ]
    if watched:  # a Role in each watched namespace, nothing cluster-wide
        assert {r["kind"] for r in tenancy_roles} == {"Role"}
        assert {r["metadata"]["namespace"] for r in tenancy_roles} == set(watched)
    else:
        assert [r["kind"] for r in tenancy_roles] == ["ClusterRole"]
    for role in find(docs, "Role") + find(docs, "ClusterRole"):
        if role not in tenancy_roles:
            assert "secrets" not in {r for _, r, _ in triples(role["rules"])}
    args = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert parse_operator_args(args).manage_tenant_credentials is True
    # Off (the default): no flag, no Secret rights anywhere.
    off = render(helm_binary, helm_home, "database.existingSecret.name=results")
    assert not _secret_rights(operator_rules(off))
    args = one(off, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert parse_operator_args(args).manage_tenant_credentials is False


def test_tenancy_without_a_database_is_refused(helm_binary: Path, helm_home: Path) -> None:
    done = run_helm(
        helm_binary, helm_home, "template", RELEASE, str(CHART), "--set", "tenancy.enabled=true"
    )
    assert done.returncode != 0
    assert "tenancy.enabled needs database.existingSecret.name" in done.stderr


def test_the_detector_service_account_has_no_rights_and_no_token(
    helm_binary: Path, helm_home: Path
) -> None:
    docs = render(helm_binary, helm_home)
    detector = one(docs, "ServiceAccount", "driftwarden-detector")
    assert detector["automountServiceAccountToken"] is False
    for binding in find(docs, "RoleBinding") + find(docs, "ClusterRoleBinding"):
        assert all(s["name"] != "driftwarden-detector" for s in binding["subjects"])


def test_the_deployment_is_restricted_probed_and_its_arguments_parse(
    helm_binary: Path, helm_home: Path
) -> None:
    docs = render(helm_binary, helm_home)
    deployment = one(docs, "Deployment", f"{RELEASE}-driftwarden-operator")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["command"] == ["driftwarden"]
    assert "--all-namespaces" in container["args"]
    assert not any(a.startswith("--leader-elect") for a in container["args"])
    assert "initContainers" not in pod  # no database: nothing to migrate
    parse_operator_args(container["args"])
    env = {e["name"] for e in container["env"]}
    assert {"POD_NAME", "POD_NAMESPACE"} <= env
    assert "DRIFTWARDEN_DATABASE_URL" not in env


def parse_operator_args(args: list[str]) -> Any:
    """The real `driftwarden` parser reads the chart's arguments (see PENDING_FLAGS)."""
    parsed, unknown = build_parser().parse_known_args(args)
    assert {u.split("=", 1)[0] for u in unknown} <= PENDING_FLAGS, unknown
    return parsed


def test_several_replicas_elect_a_leader(helm_binary: Path, helm_home: Path) -> None:
    docs = render(helm_binary, helm_home, "operator.replicas=3")
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    parsed = parse_operator_args(args)
    assert parsed.leader_elect is True
    assert parsed.lease_namespace == NAMESPACE
    assert parsed.lease_name == f"{RELEASE}-driftwarden-operator"


def test_the_default_monitor_class_is_a_valid_default_class(
    helm_binary: Path, helm_home: Path
) -> None:
    docs = render(helm_binary, helm_home)
    klass = one(docs, "MonitorClass", "standard")
    annotations = klass["metadata"]["annotations"]
    assert annotations["monitorclass.driftwarden.io/is-default-class"] == "true"
    assert "post-install" in annotations["helm.sh/hook"]
    MonitorClass.model_validate(klass)
    assert klass["spec"]["serviceAccountName"] == "driftwarden-detector"
    assert klass["spec"]["image"] == "ghcr.io/driftwarden/driftwarden:0.1.0"
    pinned = one(render(helm_binary, helm_home, "image.digest=sha256:" + "a" * 64), "MonitorClass")
    assert pinned["spec"]["image"] == "ghcr.io/driftwarden/driftwarden@sha256:" + "a" * 64


def test_user_roles_aggregate_into_the_built_in_ones(helm_binary: Path, helm_home: Path) -> None:
    docs = render(helm_binary, helm_home)
    labels = {
        d["metadata"]["name"].removeprefix(f"{RELEASE}-driftwarden-"): d["metadata"]["labels"]
        for d in find(docs, "ClusterRole")
    }
    view = "rbac.authorization.k8s.io/aggregate-to-view"
    edit = "rbac.authorization.k8s.io/aggregate-to-edit"
    admin = "rbac.authorization.k8s.io/aggregate-to-admin"
    assert labels["viewer"][view] == labels["viewer"][edit] == labels["viewer"][admin] == "true"
    assert labels["editor"][edit] == labels["editor"][admin] == "true"
    assert view not in labels["editor"]
    assert labels["retrain-approver"][admin] == "true"
    assert edit not in labels["retrain-approver"]  # editing monitors is not approving runs
    editor = one(docs, "ClusterRole", f"{RELEASE}-driftwarden-editor")
    assert "retrainruns" not in {r for _, r, _ in triples(editor["rules"])}


# --- the matrix ----------------------------------------------------------------------------


def test_watching_a_list_of_namespaces_binds_roles_there_only(
    helm_binary: Path, helm_home: Path
) -> None:
    docs = render(helm_binary, helm_home, "watch.namespaces={risk,fraud}")
    roles = find(docs, "Role", f"{RELEASE}-driftwarden-operator")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["fraud", "risk"]
    bindings = find(docs, "RoleBinding", f"{RELEASE}-driftwarden-operator")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["fraud", "risk"]
    assert not find(docs, "ClusterRole", f"{RELEASE}-driftwarden-operator")
    cluster = one(docs, "ClusterRole", f"{RELEASE}-driftwarden-operator-cluster")
    assert {r for _, r, _ in triples(cluster["rules"])} == {"monitorclasses"}
    granted = triples(operator_rules(docs))
    assert granted == triples(OPERATOR_RULES) | triples(ADMISSION_RULES)
    args = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert parse_operator_args(args).namespace == ["risk", "fraud"]
    detectors = find(docs, "ServiceAccount", "driftwarden-detector")
    assert sorted(d["metadata"]["namespace"] for d in detectors) == [
        NAMESPACE,
        "fraud",
        "risk",
    ]


def test_a_results_database_adds_the_migration_and_the_retention_job(
    helm_binary: Path, helm_home: Path
) -> None:
    assert not find(render(helm_binary, helm_home), "CronJob")
    docs = render(
        helm_binary, helm_home, "database.existingSecret.name=results", "retention.keepRuns=400d"
    )
    secret_ref = {"secretKeyRef": {"name": "results", "key": "url"}}
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    (migrate,) = pod["initContainers"]
    assert [*migrate["command"], *migrate["args"]] == ["driftwarden", "db", "upgrade"]
    for container in (migrate, pod["containers"][0]):
        assert {"name": "DRIFTWARDEN_DATABASE_URL", "valueFrom": secret_ref} in container["env"]

    cronjob = one(docs, "CronJob", f"{RELEASE}-driftwarden-retention")
    job_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job_pod["automountServiceAccountToken"] is False
    (container,) = job_pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    parsed = build_parser().parse_args(container["args"])
    assert parsed.keep_runs == "400d"
    from driftwarden.detectors.storage.retention import RetentionPolicy

    RetentionPolicy.from_durations(  # what the CronJob's command accepts (it raises if not)
        feature_rows=parsed.keep_feature_rows,
        runs=parsed.keep_runs,
        resolved_alerts=parsed.keep_resolved_alerts,
        retrain_events=parsed.keep_retrain_events,
    )
    assert {"name": "DRIFTWARDEN_DATABASE_URL", "valueFrom": secret_ref} in container["env"]

    test_pod = one(docs, "Pod", f"{RELEASE}-driftwarden-test")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    checks = {c["name"]: c for c in test_pod["spec"]["containers"]}
    assert checks["database"]["args"] == ["db", "check"]


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    """The chart in a temporary folder, with a small rule file and dashboard where the chart
    has none yet (files/alert-rules.yaml and files/dashboard.json come from other work)."""
    copy = tmp_path / "driftwarden"
    shutil.copytree(CHART, copy)
    rules, dashboard = copy / "files" / "alert-rules.yaml", copy / "files" / "dashboard.json"
    if not rules.exists():
        rules.write_text(
            "groups:\n  - name: placeholder\n    rules:\n      - alert: Placeholder\n"
            "        expr: vector(1)\n        labels: {severity: warning}\n"
        )
    if not dashboard.exists():
        dashboard.write_text(json.dumps({"title": "placeholder", "panels": []}))
    return copy


def test_monitoring_renders_only_when_enabled_and_served(
    helm_binary: Path, helm_home: Path, chart_copy: Path
) -> None:
    kinds = {d["kind"] for d in render(helm_binary, helm_home, chart=chart_copy)}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}
    assert not find(render(helm_binary, helm_home, chart=chart_copy), "ConfigMap")
    on = (
        "metrics.serviceMonitor.enabled=true",
        "metrics.prometheusRule.enabled=true",
        "metrics.dashboard.enabled=true",
    )
    # Without the Prometheus Operator's API the rule is not rendered (the install would fail).
    assert not find(render(helm_binary, helm_home, *on, chart=chart_copy), "PrometheusRule")
    docs = render(
        helm_binary,
        helm_home,
        *on,
        chart=chart_copy,
        api_versions=("monitoring.coreos.com/v1/PrometheusRule",),
    )
    expected = yaml.safe_load((chart_copy / "files" / "alert-rules.yaml").read_text())
    assert one(docs, "PrometheusRule")["spec"]["groups"] == expected["groups"]
    monitor = one(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = one(docs, "Service")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]}["metrics"] == 9808
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["spec"]["selector"].items()
    dashboard = one(docs, "ConfigMap", f"{RELEASE}-driftwarden-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["driftwarden.json"]) == json.loads(
        (chart_copy / "files" / "dashboard.json").read_text()
    )


def test_operator_options_reach_its_arguments(helm_binary: Path, helm_home: Path) -> None:
    docs = render(
        helm_binary,
        helm_home,
        "operator.retraining.automatic=true",
        "alerts.alertmanagerUrl=http://alertmanager.monitoring:9093",
        "metrics.port=9100",
        "operator.workers=4",
    )
    args = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--enable-automatic-retraining" in args
    assert "--alertmanager-url=http://alertmanager.monitoring:9093" in args
    assert "--metrics-port=9100" in args
    assert parse_operator_args(args).workers == 4


def test_the_receivers_token_is_mounted_and_passed_when_named(
    helm_binary: Path, helm_home: Path
) -> None:
    plain = one(render(helm_binary, helm_home), "Deployment")["spec"]["template"]["spec"]
    assert not any("--alert-receiver-token-file" in a for a in plain["containers"][0]["args"])
    assert "alert-receiver-token" not in {v["name"] for v in plain["volumes"]}
    docs = render(
        helm_binary,
        helm_home,
        "alerts.receiverTokenSecret.name=am-token",
        "alerts.receiverTokenSecret.key=bearer",
    )
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = parse_operator_args(container["args"])
    assert args.alert_receiver_token_file == "/var/run/driftwarden/alert-receiver/bearer"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "alert-receiver-token"]
    assert volume["secret"] == {
        "secretName": "am-token",
        "items": [{"key": "bearer", "path": "bearer"}],
    }
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "alert-receiver-token"]
    assert mount == {
        "name": "alert-receiver-token",
        "mountPath": "/var/run/driftwarden/alert-receiver",
        "readOnly": True,
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("alerts.receiverTokenSecret.name=Not_A_Name", "at '/alerts/receiverTokenSecret/name'"),
        ("operator.replica=2", "at '/operator': additional properties 'replica' not allowed"),
        ("operator.replicas=two", "at '/operator/replicas': got string, want integer"),
        ("watch.namespaces={Risk_Team}", "at '/watch/namespaces/0'"),
        ("retention.keepRuns=forever", "at '/retention/keepRuns'"),
        ("retention.keepRuns=0", "at '/retention/keepRuns'"),  # the CLI needs at least 1s
        ("retention.keepRuns=0d", "at '/retention/keepRuns'"),
        ("image.pullPolicy=Sometimes", "at '/image/pullPolicy'"),
        ("database.url=postgresql://u:p@h/db", "additional properties 'url' not allowed"),
        ("operator.resources.limits.memory=lots", "at '/operator/resources/limits/memory'"),
        ("alerts.alertmanagerUrl=alertmanager:9093", "at '/alerts/alertmanagerUrl'"),
        ("metrics.port=70000", "at '/metrics/port'"),
    ],
)
def test_bad_values_are_refused_with_the_key(
    helm_binary: Path, helm_home: Path, value: str, message: str
) -> None:
    done = run_helm(helm_binary, helm_home, "template", RELEASE, str(CHART), "--set", value)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert "u:p@" not in done.stderr  # a password put in the wrong place is not echoed


def test_feature_rows_kept_longer_than_their_runs_are_refused(
    helm_binary: Path, helm_home: Path
) -> None:
    """`driftwarden db retention` refuses the pair, so the CronJob would fail every day."""
    args = ["--set", "database.existingSecret.name=db", "--set", "retention.keepRuns=30d"]
    done = run_helm(helm_binary, helm_home, "template", RELEASE, str(CHART), *args)
    assert done.returncode != 0
    assert "retention.keepFeatureRows (90d) must not be longer than retention.keepRuns (30d)" in (
        done.stderr
    )
    ok = ["--set", "retention.keepRuns=1y", "--set", "retention.keepFeatureRows=52w"]
    done = run_helm(helm_binary, helm_home, "template", RELEASE, str(CHART), *args[:2], *ok)
    assert done.returncode == 0, done.stderr


def test_a_service_monitor_without_the_service_is_refused(
    helm_binary: Path, helm_home: Path
) -> None:
    done = run_helm(
        helm_binary,
        helm_home,
        "template",
        RELEASE,
        str(CHART),
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.service.enabled=false",
    )
    assert done.returncode != 0
    assert "metrics.serviceMonitor.enabled needs metrics.service.enabled" in done.stderr
