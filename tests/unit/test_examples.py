"""Every driftwarden manifest in examples/ validates against the models (the API server
check of the same files is in tests/cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from driftwarden.detectors.cli import load_config
from driftwarden.detectors.config import DetectionSpec
from driftwarden.operator.api import GROUP, ModelMonitor, RetrainPolicy
from driftwarden.operator.api.modelmonitor import detection_part
from driftwarden.operator.api.monitorclass import MonitorClass

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def driftwarden_manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and str(document.get("apiVersion", "")).startswith(
                f"{GROUP}/"
            ):
                found.append((path.name, document))
    return found


def test_there_are_examples_of_both_kinds() -> None:
    kinds = {document["kind"] for _, document in driftwarden_manifests()}
    assert kinds == {"ModelMonitor", "RetrainPolicy", "MonitorClass"}


@pytest.mark.parametrize(("name", "document"), driftwarden_manifests(), ids=lambda v: str(v)[:40])
def test_example_validates(name: str, document: dict[str, Any]) -> None:
    model = {
        "ModelMonitor": ModelMonitor,
        "RetrainPolicy": RetrainPolicy,
        "MonitorClass": MonitorClass,
    }[document["kind"]]
    model.model_validate(document)
    if document["kind"] == "ModelMonitor":
        DetectionSpec.model_validate(detection_part(document["spec"]))


@pytest.mark.parametrize(
    ("name", "document"),
    [(n, d) for n, d in driftwarden_manifests() if d["kind"] == "ModelMonitor"],
    ids=lambda v: str(v)[:40],
)
def test_detect_cli_reads_the_monitor_example(name: str, document: dict[str, Any]) -> None:
    """`driftwarden detect --config <monitor example>` takes exactly the detection part."""
    settings = DetectionSpec.model_validate(load_config(EXAMPLES / name))
    assert settings == ModelMonitor.model_validate(document).spec.detection()
