"""The Job's Arrow chunks from PostgreSQL give the profile the pandas frames give, value
for value: floats with NaN and NULL, integers with and without NULLs, booleans, NUMERIC,
timestamps, text and integer categories, over several chunks, with a row sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg2
import pytest
from pg import PostgresServer

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import profile_frames, resolve_features
from driftwarden.detectors.profile import (
    ArrowChunk,
    CategoricalProfile,
    NumericProfile,
    as_frame,
)
from driftwarden.detectors.sources import SqlSource, TimeWindow

pytestmark = pytest.mark.postgres

END = datetime(2026, 11, 29, tzinfo=UTC)
ROWS = 5_000


@pytest.fixture(scope="module")
def url(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database("arrow_profiles")
    conn = psycopg2.connect(postgres_server.dsn("arrow_profiles"))
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE log (ts timestamptz NOT NULL, x double precision, n integer,"
            " big bigint, flag boolean, amount numeric(12, 2), seen timestamptz,"
            " region text, code integer, score double precision, label integer)"
        )
        cursor.execute(
            "INSERT INTO log SELECT %(end)s - i * interval '1 minute', "
            " CASE WHEN i %% 97 = 0 THEN 'NaN'::float8 WHEN i %% 89 = 0 THEN NULL"
            "      ELSE round((random() * 10)::numeric, 1)::float8 END, "
            " CASE WHEN i > 3000 AND i %% 7 = 0 THEN NULL ELSE i %% 50 END, "
            " i::bigint * 1000000000003, "
            " CASE WHEN i %% 11 = 0 THEN NULL ELSE i %% 3 = 0 END, "
            " (i * 0.25)::numeric(12, 2), "
            " %(end)s - i * interval '1 hour', "
            " CASE WHEN i %% 13 = 0 THEN NULL ELSE (ARRAY['north','south','east'])[1 + i %% 3] END,"
            " CASE WHEN i %% 17 = 0 THEN NULL ELSE i %% 4 END, "
            " random(), (i %% 2) "
            "FROM generate_series(1, %(rows)s) AS i",
            {"end": END, "rows": ROWS},
        )
    conn.close()
    return url


SPEC = DetectionSpec.model_validate(
    {
        "features": [
            {"name": "x", "type": "numeric"},
            {"name": "n", "type": "numeric"},
            {"name": "big", "type": "numeric"},
            {"name": "flag", "type": "numeric"},
            {"name": "amount", "type": "numeric"},
            {"name": "seen", "type": "numeric"},
            {"name": "region", "type": "categorical"},
            {"name": "code", "type": "categorical"},
        ],
        "prediction": {"column": "score", "type": "probability"},
        "labels": {"column": "label", "task": "binary"},
    }
)
COLUMNS = ["x", "n", "big", "flag", "amount", "seen", "region", "code", "score", "label"]


def test_arrow_chunks_profile_as_the_frames_do(url: str) -> None:
    window = TimeWindow(END - timedelta(minutes=ROWS), END)
    with SqlSource(url, "log", "ts", chunk_rows=700) as source:
        frames = list(source.iter_chunks(window, COLUMNS))
        chunks = list(source.iter_profile_chunks(window, COLUMNS))
    assert all(isinstance(chunk, ArrowChunk) for chunk in chunks)
    assert [len(frame) for frame in frames] == [len(as_frame(chunk)) for chunk in chunks]
    features = resolve_features(SPEC, frames[0])
    assert features == resolve_features(SPEC, as_frame(chunks[0]))
    ours = profile_frames(chunks, SPEC, features, seed=5)
    theirs = profile_frames(frames, SPEC, features, seed=5)
    assert ours.rows == theirs.rows == ROWS
    for name, column in theirs.columns.items():
        mine = ours.columns[name]
        if isinstance(column, NumericProfile):
            assert isinstance(mine, NumericProfile)
            assert np.array_equal(mine.values, column.values), name
            assert (mine.count, mine.missing) == (column.count, column.missing), name
            assert (mine.total, mine.total_squares) == (column.total, column.total_squares)
        else:
            assert isinstance(mine, CategoricalProfile)
            assert isinstance(column, CategoricalProfile)
            assert list(mine.counts.items()) == list(column.counts.items()), name
            assert mine.missing == column.missing, name
    assert np.array_equal(ours.row_sample_keys, theirs.row_sample_keys)
    pd.testing.assert_frame_equal(ours.row_sample, theirs.row_sample, check_exact=True)
