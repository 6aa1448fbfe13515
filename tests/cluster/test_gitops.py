"""examples/gitops/ against the real API server with Argo CD's and Flux's published CRDs.

The CRDs (tests/cluster/gitops-crds, copied unchanged from the projects, see SOURCES.md)
are installed into the test control plane; every manifest of examples/gitops is then
server-side applied with `dryRun=All` and strict field validation, so the API server checks
it against the schemas those controllers ship (a misspelt field or a wrong type is refused:
tested). The paths they point at exist, the chart renders with the values they pass, and the
monitors they sync (kustomize build) apply too.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from cluster.chartops import helm
from cluster.controlplane import ControlPlane, wait_for

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
CRDS = Path(__file__).resolve().parent / "gitops-crds"
GITOPS = ROOT / "examples" / "gitops"


def _published() -> dict[str, str]:
    """file -> sha256 of its YAML, from SOURCES.md."""
    table = {}
    for line in (CRDS / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].endswith(".yaml.gz"):
            table[cells[0]] = cells[4]
    return table


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _apply(api: k8s.ApiClient, doc: dict[str, Any], dry_run: bool = True) -> None:
    """Server-side apply of any object with strict field validation (`kubectl apply
    --server-side --validate=strict`, with `--dry-run=server` by default)."""
    resource = DynamicClient(api).resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
    query = [("fieldValidation", "Strict")] + ([("dryRun", "All")] if dry_run else [])
    DynamicClient(api).server_side_apply(
        resource,
        body=doc,
        field_manager="driftwarden-tests",
        force_conflicts=True,
        query_params=query,
    )


def _install_crd(api: k8s.ApiClient, crd: dict[str, Any]) -> None:
    k8s.ApiextensionsV1Api(api).patch_custom_resource_definition(
        crd["metadata"]["name"],
        crd,
        field_manager="driftwarden-tests",
        force=True,
        _content_type="application/apply-patch+yaml",
    )


@pytest.fixture(scope="module")
def gitops_crds(admin_api: k8s.ApiClient) -> None:
    published = _published()
    assert sorted(published) == sorted(p.name for p in CRDS.glob("*.yaml.gz"))
    extensions = k8s.ApiextensionsV1Api(admin_api)
    names = []
    for path in sorted(CRDS.glob("*.yaml.gz")):
        text = gzip.decompress(path.read_bytes())
        assert hashlib.sha256(text).hexdigest() == published[path.name], path.name
        for crd in yaml.safe_load_all(text):
            if crd:
                _install_crd(admin_api, crd)
                names.append(crd["metadata"]["name"])
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        for crd in _documents(path):
            _install_crd(admin_api, crd)
            names.append(crd["metadata"]["name"])

    def established() -> bool:
        for name in names:
            conditions = extensions.read_custom_resource_definition(name).status.conditions or []
            if not any(c.type == "Established" and c.status == "True" for c in conditions):
                return False
        return True

    wait_for(established, 60, "the GitOps CRDs are not established")
    core = k8s.CoreV1Api(admin_api)
    for namespace in ("argocd", "flux-system", "census"):
        try:
            core.create_namespace({"metadata": {"name": namespace}})
        except ApiException as e:
            if e.status != 409:
                raise


MANIFESTS = sorted(p for p in GITOPS.glob("*/*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gitops_manifests_are_accepted_by_the_published_schemas(
    admin_api: k8s.ApiClient, gitops_crds: None, path: Path
) -> None:
    for doc in _documents(path):
        _apply(admin_api, doc)


def test_a_wrong_field_or_type_is_refused(admin_api: k8s.ApiClient, gitops_crds: None) -> None:
    """The dry runs above would catch a mistake: the schemas are really enforced."""
    release = next(
        d for d in _documents(GITOPS / "flux" / "driftwarden.yaml") if d["kind"] == "HelmRelease"
    )
    misspelt = yaml.safe_load(yaml.safe_dump(release))
    misspelt["spec"]["chart"]["spec"]["chartt"] = misspelt["spec"]["chart"]["spec"].pop("chart")
    wrong_type = yaml.safe_load(yaml.safe_dump(release))
    wrong_type["spec"]["interval"] = 30
    application = _documents(GITOPS / "argocd" / "driftwarden.yaml")[0]
    no_destination = yaml.safe_load(yaml.safe_dump(application))
    no_destination["spec"]["destinationn"] = no_destination["spec"].pop("destination")
    # (The API server answers an apply with an undeclared field 500 "field not declared in
    # schema", a wrong type 422.)
    for bad, field in (
        (misspelt, "chartt"),
        (wrong_type, "interval"),
        (no_destination, "destinationn"),
    ):
        with pytest.raises(ApiException) as refused:
            _apply(admin_api, bad)
        assert field in str(refused.value.body), refused.value.body


def test_the_paths_exist_and_the_chart_renders_with_their_values(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    application, monitors = _documents(GITOPS / "argocd" / "driftwarden.yaml")
    flux = {d["kind"]: d for d in _documents(GITOPS / "flux" / "driftwarden.yaml")}
    chart_paths = {
        application["spec"]["source"]["path"],
        flux["HelmRelease"]["spec"]["chart"]["spec"]["chart"].removeprefix("./"),
    }
    assert chart_paths == {"charts/driftwarden"}
    monitor_paths = {
        monitors["spec"]["source"]["path"],
        flux["Kustomization"]["spec"]["path"].removeprefix("./"),
    }
    assert monitor_paths == {"examples/gitops/monitors"}
    for values in (
        application["spec"]["source"]["helm"]["valuesObject"],
        flux["HelmRelease"]["spec"]["values"],
    ):
        values_file = tmp_path / "values.yaml"
        values_file.write_text(yaml.safe_dump(values))
        out = helm(
            control_plane.helm,
            control_plane.kubeconfig("admin"),
            tmp_path / "helm",
            "template", "driftwarden", str(ROOT / "charts" / "driftwarden"),
            "-n", "driftwarden-system", "--values", str(values_file),
        )  # fmt: skip
        kinds = {d["kind"] for d in yaml.safe_load_all(out) if d}
        assert {"Deployment", "ServiceMonitor", "Role"} <= kinds


def test_the_synced_monitors_apply(admin_api: k8s.ApiClient, gitops_crds: None) -> None:
    """What Argo CD / Flux build from examples/gitops/monitors (kustomize) applies cleanly."""
    kubectl = shutil.which("kubectl")
    folder = GITOPS / "monitors"
    if kubectl is not None:
        built = subprocess.run(
            [kubectl, "kustomize", str(folder)],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
    else:  # the file only lists resources: what kustomize would build is their concatenation
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        assert set(kustomization) == {"apiVersion", "kind", "resources"}, kustomization
        built = "\n---\n".join((folder / r).read_text() for r in kustomization["resources"])
    docs = [d for d in yaml.safe_load_all(built) if d]
    assert {d["kind"] for d in docs} >= {"ModelMonitor", "RetrainPolicy", "MonitorClass"}
    for doc in docs:
        _apply(admin_api, doc)
