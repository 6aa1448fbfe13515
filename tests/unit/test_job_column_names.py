"""Column names of a Postgres-sourced monitor: any name PostgreSQL takes quoted is accepted
where the monitor is applied; the one rule that stays (63 bytes) is refused there, not at
run time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from driftwarden.detectors.sources import InvalidNameError
from driftwarden.detectors.sources.base import validate_identifier
from driftwarden.operator.api.modelmonitor import ModelMonitor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "modelmonitor-postgres.yaml"


def _monitor() -> dict[str, Any]:
    for document in yaml.safe_load_all(EXAMPLE.read_text()):
        if document and document.get("kind") == "ModelMonitor":
            return dict(document)
    raise LookupError("no ModelMonitor in the example")


ALLOWED = ["Region Name", "select", 'a"b', "x; DROP TABLE runs; --", "50% share", "é" * 31]


@pytest.mark.parametrize("name", ALLOWED)
def test_a_name_postgres_allows_quoted_is_accepted_by_the_monitor_and_the_source(
    name: str,
) -> None:
    document = _monitor()
    document["spec"]["features"][0]["name"] = name
    ModelMonitor.model_validate(document)
    assert validate_identifier(name, "column") == name


@pytest.mark.parametrize(
    ("where", "name"),
    [("feature", "é" * 32), ("feature", "a" * 64), ("prediction", "p" * 64), ("feature", "a\x00b")],
)
def test_a_name_postgres_cannot_have_is_refused_where_the_monitor_is_applied(
    where: str, name: str
) -> None:
    document = _monitor()
    if where == "feature":
        document["spec"]["features"][0]["name"] = name
    else:
        document["spec"]["prediction"]["column"] = name
    with pytest.raises(ValidationError, match="PostgreSQL"):
        ModelMonitor.model_validate(document)
    with pytest.raises(InvalidNameError):
        validate_identifier(name, "column")


def test_a_files_monitor_keeps_long_names() -> None:
    document = _monitor()
    document["spec"]["source"] = {"files": {"path": "/data/x.parquet", "timestampColumn": "ts"}}
    document["spec"]["features"][0]["name"] = "é" * 100
    ModelMonitor.model_validate(document)
