"""Shared fixtures of the pure tests: golden files of rendered manifests.

Refresh the golden files after an intended change with:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit      (or: make golden)

and review the diff like any other change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftwarden.operator.api import ModelMonitor, RetrainPolicy
from driftwarden.operator.api.generate import to_yaml
from driftwarden.operator.api.monitorclass import MonitorClass

GOLDEN_DIR = Path(__file__).parent / "golden"

Golden = Callable[[str, Any], None]


@pytest.fixture
def golden() -> Golden:
    def check(name: str, document: Any) -> None:
        path = GOLDEN_DIR / f"{name}.yaml"
        text = to_yaml(document)
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"{path.name} is missing: run UPDATE_GOLDEN=1 pytest tests/unit"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{path.name} differs: run UPDATE_GOLDEN=1 pytest tests/unit"

    return check


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(filename: str, uid: str, generation: int = 3) -> dict[str, Any]:
    """An example manifest as the API server would return it (uid, generation set)."""
    import yaml

    document: dict[str, Any] = yaml.safe_load((EXAMPLES / filename).read_text(encoding="utf-8"))
    document["metadata"] |= {"uid": uid, "generation": generation}
    return document


@pytest.fixture
def credit_monitor() -> ModelMonitor:
    return ModelMonitor.model_validate(
        example("modelmonitor-postgres.yaml", "6f1c9a4e-0d5b-4c1e-9a57-2b8f4e0c1d11")
    )


@pytest.fixture
def churn_monitor() -> ModelMonitor:
    return ModelMonitor.model_validate(
        example("modelmonitor-files.yaml", "0b7e2f93-5a1d-4f68-8c2e-91d3a6b4c522")
    )


@pytest.fixture
def monitor_classes() -> dict[str, MonitorClass]:
    """The MonitorClasses of examples/monitorclass.yaml, by name."""
    return load_monitor_classes()


def load_monitor_classes() -> dict[str, MonitorClass]:
    import yaml

    documents = yaml.safe_load_all((EXAMPLES / "monitorclass.yaml").read_text(encoding="utf-8"))
    classes = [MonitorClass.model_validate(d) for d in documents]
    return {k.metadata.name: k for k in classes}


@pytest.fixture
def credit_policy() -> RetrainPolicy:
    return RetrainPolicy.model_validate(
        example("retrainpolicy.yaml", "c3d4e5f6-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
    )
