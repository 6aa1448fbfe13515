"""The demo's real data: the census employment data read out of the NannyML wheel and
loaded into a real PostgreSQL server as an inference log, and the demo's manifests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml
from pg import PostgresServer

from driftwarden.detectors.config import DetectionSpec
from driftwarden.operator.api import ModelMonitor, RetrainPolicy
from driftwarden.operator.api.modelmonitor import detection_part
from driftwarden.operator.api.monitorclass import MonitorClass

pytestmark = pytest.mark.postgres

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
sys.path.insert(0, str(DEMO))
import census  # noqa: E402

#: Rows per survey year (NannyML 0.13.1's employment_MA_* files; reference = 2015).
YEARS = {2015: 68_785, 2016: 69_126, 2017: 69_635, 2018: 70_131}


@pytest.fixture(scope="module")
def frame() -> Any:
    return census.read_census(census.fetch_wheel())


def test_the_inference_log_loads_into_postgres_with_times_in_each_year(
    postgres_server: PostgresServer, frame: Any
) -> None:
    url = postgres_server.create_database("census_demo")
    assert census.load_postgres(url, frame) == sum(YEARS.values())
    conn = psycopg2.connect(census.libpq_url(url))
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT year, count(*), min(ts), max(ts), count(employed), "
                f"avg(predicted_probability) FROM {census.TABLE} GROUP BY year ORDER BY year"
            )
            rows = cursor.fetchall()
            cursor.execute(f"SELECT count(DISTINCT anc), min(agep), max(agep) FROM {census.TABLE}")
            categories, youngest, oldest = cursor.fetchone() or (0, 0, 0)
    finally:
        conn.close()
    assert {year: count for year, count, *_ in rows} == YEARS
    for year, count, first, last, labelled, mean_score in rows:
        assert first.year == year
        assert last.year == year
        assert labelled == count  # every row has its true label
        assert 0 < mean_score < 1
    assert categories > 1
    assert 0 <= youngest < oldest <= 120


def test_the_demo_manifests_validate_and_name_the_table_columns(frame: Any) -> None:
    docs = [
        d
        for d in yaml.safe_load_all(
            (DEMO.parent / "gitops" / "monitors" / "census.yaml").read_text()
        )
        if d
    ]
    models = {
        "ModelMonitor": ModelMonitor,
        "RetrainPolicy": RetrainPolicy,
        "MonitorClass": MonitorClass,
    }
    kinds = {d["kind"] for d in docs}
    assert {"ModelMonitor", "RetrainPolicy", "MonitorClass"} <= kinds
    for doc in docs:
        if doc["kind"] in models:
            models[doc["kind"]].model_validate(doc)
    (monitor,) = [d for d in docs if d["kind"] == "ModelMonitor"]
    spec = monitor["spec"]
    assert spec["source"]["postgres"]["table"] == census.TABLE
    named = {f["name"] for f in spec["features"]}
    assert named == set(census.FEATURES)
    assert {spec["prediction"]["column"], spec["labels"]["column"]} <= set(frame.columns)
    # The no-cluster config is the monitor's detection part.
    local = DetectionSpec.model_validate(yaml.safe_load((DEMO / "census-detect.yaml").read_text()))
    assert local == DetectionSpec.model_validate(detection_part(spec))
