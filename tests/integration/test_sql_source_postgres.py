"""The SQL data source against a real PostgreSQL 15 server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg2
import pytest
from pg import PostgresServer
from ports import free_port

from driftwarden.detectors.config import FeatureKind, WindowSpec
from driftwarden.detectors.kinds import infer_kind
from driftwarden.detectors.profile import as_frame
from driftwarden.detectors.sources import (
    AuthenticationFailedError,
    ColumnNotFoundError,
    InvalidNameError,
    QueryTimeoutError,
    Source,
    SourceError,
    SourceUnreachableError,
    SqlSource,
    TableNotFoundError,
    TimestampTypeError,
    TimeWindow,
)
from driftwarden.detectors.sources import sql as sql_source

pytestmark = pytest.mark.postgres

RUN_TIME = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ROWS = 2_000  # one row every 30 minutes, ending at RUN_TIME: about 41 days
HOSTILE = 'x"; DROP TABLE runs; --'


@pytest.fixture(scope="module")
def data_url(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database("inference")
    conn = psycopg2.connect(postgres_server.dsn("inference"))
    with conn, conn.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE inference_log (ts timestamptz NOT NULL, ts_local timestamp NOT NULL,"
            " age double precision, income numeric(12, 2), region text, model_version text,"
            ' "select" integer, note text)'
        )
        cursor.execute(
            "INSERT INTO inference_log SELECT "
            "  %(end)s - (i * interval '30 minutes'), "
            "  (%(end)s - (i * interval '30 minutes')) AT TIME ZONE 'UTC', "
            "  i %% 80, (i * 10.5)::numeric(12, 2), "
            "  CASE WHEN i %% 3 = 0 THEN 'north' ELSE 'south' END, "
            "  CASE WHEN i %% 2 = 0 THEN '3' ELSE '2' END, i, 'n' "
            "FROM generate_series(1, %(rows)s) AS i",
            {"end": RUN_TIME, "rows": ROWS},
        )
        cursor.execute("CREATE TABLE runs (id integer)")  # the hostile name's target
        cursor.execute("CREATE VIEW recent AS SELECT ts, age FROM inference_log")
        cursor.execute("CREATE VIEW slow AS SELECT ts, age FROM inference_log, pg_sleep(2) AS s")
        # A view whose read would write: the source's READ ONLY transaction must stop it.
        cursor.execute("CREATE TABLE audit (x integer)")
        cursor.execute(
            "CREATE FUNCTION touch() RETURNS integer LANGUAGE sql "
            "AS 'INSERT INTO audit VALUES (1) RETURNING 1'"
        )
        cursor.execute("CREATE VIEW sneaky AS SELECT ts, age, touch() AS t FROM inference_log")
    conn.close()
    return url


def _read(source: Source, window: TimeWindow, columns: list[str]) -> pd.DataFrame:
    """The window's rows as the Job streams them (`iter_chunks`), in one frame."""
    chunks = list(source.iter_chunks(window, columns))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)


def _kinds(frame: pd.DataFrame) -> dict[str, FeatureKind]:
    return {str(name): infer_kind(frame[name]) for name in frame.columns}


def _window(length: str, end_offset: str = "0s") -> TimeWindow:
    spec = WindowSpec.model_validate({"relative": {"length": length, "endOffset": end_offset}})
    return TimeWindow.from_spec(spec, RUN_TIME)


def test_relative_windows_select_exactly_their_rows(data_url: str) -> None:
    with SqlSource(data_url, "inference_log", "ts") as source:
        current = _read(source, _window("24h"), ["age", "income", "region"])
        baseline = _read(source, _window("30d", "7d"), ["age", "income", "region"])
    # rows at RUN_TIME - i*30min for i >= 1; [start, end) includes i = 1..48
    assert len(current) == 48
    assert len(baseline) == 30 * 48
    assert current["income"].dtype == np.float64  # NUMERIC arrives as floats
    assert _kinds(current) == {
        "age": FeatureKind.NUMERIC,
        "income": FeatureKind.NUMERIC,
        "region": FeatureKind.CATEGORICAL,
    }


def test_absolute_window_on_a_timestamp_without_time_zone(data_url: str) -> None:
    window = TimeWindow(RUN_TIME - timedelta(hours=2), RUN_TIME - timedelta(minutes=30))
    with SqlSource(data_url, "inference_log", "ts_local") as source:
        data = _read(source, window, ["ts_local", "age"])
    assert len(data) == 3  # i = 4, 3, 2 (the end is exclusive: i = 1 is out)
    assert pd.api.types.is_datetime64_any_dtype(data["ts_local"])  # a time, not a feature


def test_equality_filters_are_bound_values(data_url: str) -> None:
    filters = {"model_version": "3", "region": "north"}
    with SqlSource(data_url, "inference_log", "ts", filters=filters) as source:
        data = _read(source, _window("24h"), ["region", "model_version"])
    assert set(data["model_version"]) == {"3"}
    assert set(data["region"]) == {"north"}
    assert len(data) == 8  # i in 1..48 divisible by 6


def test_streams_in_chunks(data_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with SqlSource(data_url, "inference_log", "ts") as source:
        chunks = list(source.iter_chunks(_window("30d"), ["age", "income"], chunk_rows=250))
    assert [len(c) for c in chunks] == [250] * 5 + [1440 - 1250]
    # chunks larger than one round trip of the cursor are assembled from several fetches
    monkeypatch.setattr(sql_source, "_FETCH_ROWS", 400)
    with SqlSource(data_url, "inference_log", "ts") as source:
        sizes = [len(c) for c in source.iter_chunks(_window("41d"), ["age"], chunk_rows=1500)]
    assert sizes == [1500, 41 * 48 - 1500]
    assert all(list(c.columns) == ["age", "income"] for c in chunks)


def test_reserved_words_are_quoted(data_url: str) -> None:
    with SqlSource(data_url, "public.inference_log", "ts") as source:
        data = _read(source, _window("24h"), ["select"])
    assert sorted(data["select"]) == list(range(1, 49))


@pytest.mark.parametrize("where", ["column", "table", "timestamp", "filter"])
def test_hostile_names_are_only_names_and_nothing_is_dropped(
    data_url: str, postgres_server: PostgresServer, where: str
) -> None:
    # A name with a quote and a semicolon is a valid quoted identifier: it is looked up as
    # a name (not found here), never run.
    def attempt() -> None:
        if where == "table":
            with SqlSource(data_url, HOSTILE, "ts") as source:
                _read(source, _window("24h"), ["age"])
        elif where == "timestamp":
            with SqlSource(data_url, "inference_log", HOSTILE) as source:
                _read(source, _window("24h"), ["age"])
        elif where == "filter":
            with SqlSource(data_url, "inference_log", "ts", filters={HOSTILE: "1"}) as source:
                _read(source, _window("24h"), ["age"])
        else:
            with SqlSource(data_url, "inference_log", "ts") as source:
                _read(source, _window("24h"), ["age", HOSTILE])

    expected = TableNotFoundError if where == "table" else ColumnNotFoundError
    with pytest.raises(expected, match="DROP TABLE runs"):
        attempt()
    conn = psycopg2.connect(postgres_server.dsn("inference"))
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.runs') IS NOT NULL")
        assert cursor.fetchone() == (True,)
    conn.close()


@pytest.mark.parametrize(
    "name",
    ["", "x\x00y", "a" * 64, "é" * 32],  # empty, NUL, 64 bytes, 64 bytes in UTF-8
)
def test_names_postgres_cannot_take_are_refused_before_any_sql(data_url: str, name: str) -> None:
    with SqlSource(data_url, "inference_log", "ts") as source, pytest.raises(InvalidNameError):
        _read(source, _window("24h"), ["age", name])
    with pytest.raises(InvalidNameError, match="63 bytes"):
        SqlSource(data_url, name, "ts")


#: Names PostgreSQL accepts quoted (the trial's "Region Name"), each with its own values.
ODD_NAMES = {
    "Region Name": "region",
    "select": "reserved",
    'a"b': "quote",
    "x; DROP TABLE runs; --": "semicolon",
    "50% share": "percent",
    "Größe": "utf8",
    "é" * 31: "long",  # 62 bytes
}


@pytest.fixture(scope="module")
def odd_table(data_url: str, postgres_server: PostgresServer) -> list[str]:
    names = list(ODD_NAMES)
    conn = psycopg2.connect(postgres_server.dsn("inference"))
    with conn, conn.cursor() as cursor:
        quoted = ", ".join(psycopg2.extensions.quote_ident(n, cursor) + " text" for n in names)
        cursor.execute(f"CREATE TABLE odd_names (ts timestamptz NOT NULL, {quoted})")
        cursor.execute(
            "INSERT INTO odd_names SELECT %s - (i * interval '30 minutes'), "
            + ", ".join("%s || i::text" for _ in names)
            + " FROM generate_series(1, 10) AS i",
            [RUN_TIME, *(f"{ODD_NAMES[n]}-" for n in names)],
        )
    conn.close()
    return names


@pytest.mark.parametrize("reader", ["arrow", "rows"])
def test_names_postgres_allows_quoted_read_their_own_columns(
    data_url: str, odd_table: list[str], postgres_server: PostgresServer, reader: str
) -> None:
    with SqlSource(
        data_url,
        "odd_names",
        "ts",
        filters={"Region Name": "region-3"},
        reader=reader,  # type: ignore[arg-type]
    ) as source:
        frames = list(source.iter_chunks(_window("24h"), odd_table))
        arrow = list(source.iter_profile_chunks(_window("24h"), odd_table))
    data = pd.concat(frames, ignore_index=True)
    assert list(data.columns) == odd_table
    assert data.to_dict("records") == [{n: f"{ODD_NAMES[n]}-3" for n in odd_table}]
    assert sum(len(as_frame(chunk)) for chunk in arrow) == 1
    conn = psycopg2.connect(postgres_server.dsn("inference"))
    with conn, conn.cursor() as cursor:  # the semicolon's name ran nothing
        cursor.execute("SELECT to_regclass('public.runs') IS NOT NULL")
        assert cursor.fetchone() == (True,)
    conn.close()


def test_hostile_filter_value_is_just_a_value(data_url: str) -> None:
    with SqlSource(data_url, "inference_log", "ts", filters={"region": HOSTILE}) as source:
        assert _read(source, _window("24h"), ["age"]).empty


def test_missing_table_and_columns_are_named(data_url: str) -> None:
    with (
        SqlSource(data_url, "no_such_table", "ts") as source,
        pytest.raises(TableNotFoundError, match="no_such_table"),
    ):
        _read(source, _window("24h"), ["age"])
    with (
        SqlSource(data_url, "inference_log", "ts", filters={"shard": 1}) as source,
        pytest.raises(ColumnNotFoundError, match=r"'salary'.*'shard'"),
    ):
        _read(source, _window("24h"), ["age", "salary"])
    with (  # a misspelt column: the closest of the table's columns
        SqlSource(data_url, "inference_log", "ts") as source,
        pytest.raises(ColumnNotFoundError, match=r"'agee' not found .*\(did you mean 'age'\?\)$"),
    ):
        _read(source, _window("24h"), ["agee"])
    # views work, and are checked too
    with (
        SqlSource(data_url, "recent", "ts") as source,
        pytest.raises(ColumnNotFoundError, match="'income'"),
    ):
        _read(source, _window("24h"), ["income"])


def test_timestamp_column_of_the_wrong_type(data_url: str) -> None:
    with (
        SqlSource(data_url, "inference_log", "note") as source,
        pytest.raises(TimestampTypeError, match=r"'note'.*TEXT"),
    ):
        _read(source, _window("24h"), ["age"])


def test_an_empty_window_streams_no_chunk(data_url: str) -> None:
    """The Job records such a run as InsufficientData (tests/integration/test_job_postgres)."""
    with SqlSource(data_url, "inference_log", "ts") as source:
        empty = TimeWindow(RUN_TIME, RUN_TIME + timedelta(days=1))
        assert not list(source.iter_chunks(empty, ["age"]))
        assert not list(source.iter_profile_chunks(empty, ["age"]))


def test_reads_run_in_a_read_only_transaction(data_url: str) -> None:
    with (
        SqlSource(data_url, "sneaky", "ts") as source,
        pytest.raises(SourceError, match="read-only transaction"),
    ):
        _read(source, _window("24h"), ["age", "t"])


def test_statement_timeout(data_url: str) -> None:
    source = SqlSource(data_url, "slow", "ts", statement_timeout=timedelta(milliseconds=200))
    with source, pytest.raises(QueryTimeoutError, match="statement timeout"):
        _read(source, _window("24h"), ["age"])


def test_wrong_password_is_its_own_error_and_hidden(postgres_server: PostgresServer) -> None:
    secret = "Wr0ng-" + postgres_server.password
    url = postgres_server.url("inference", password=secret)
    with (
        SqlSource(url, "inference_log", "ts") as source,
        pytest.raises(AuthenticationFailedError) as failed,
    ):
        _read(source, _window("24h"), ["age"])
    assert secret not in str(failed.value)
    assert "password authentication failed" in str(failed.value)


def test_a_server_that_is_not_there_is_unreachable(postgres_server: PostgresServer) -> None:
    port = free_port()
    url = f"postgresql+psycopg2://postgres:{postgres_server.password}@127.0.0.1:{port}/inference"
    with (
        SqlSource(url, "inference_log", "ts") as source,
        pytest.raises(SourceUnreachableError) as failed,
    ):
        _read(source, _window("24h"), ["age"])
    assert postgres_server.password not in str(failed.value)


@pytest.mark.parametrize(
    ("table", "timestamp", "filters"),
    [
        ("inference_log", "ts", {"model_version": "3"}),
        ("inference_log", "ts_local", {"region": "north"}),
    ],
)
def test_the_arrow_reader_reads_what_the_row_reader_reads(
    data_url: str, table: str, timestamp: str, filters: dict[str, str | None]
) -> None:
    columns = ["age", "income", "region", "select"]
    frames = {}
    for reader in ("arrow", "rows"):
        with SqlSource(data_url, table, timestamp, filters=filters, reader=reader) as source:
            chunks = list(source.iter_chunks(_window("30d", "2d"), columns, chunk_rows=97))
        assert all(len(c) <= 97 for c in chunks)
        frames[reader] = pd.concat(chunks, ignore_index=True)
    assert len(frames["arrow"]) > 97
    for name in columns:
        left, right = frames["arrow"][name], frames["rows"][name]
        assert (
            left.astype(object).where(left.notna(), None).tolist()
            == right.astype(object).where(right.notna(), None).tolist()
        ), name
