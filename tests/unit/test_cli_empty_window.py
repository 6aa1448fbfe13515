"""An empty window is one message whatever the file's format: "FILE: the window is empty
(no rows)", exit 2. (A new user met two wordings: CSV said "the window is empty (no rows)",
Parquet "the window has no data", without saying which of the two was meant.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clirun import run_cli as run

COLUMNS = {"age": pa.float64(), "income": pa.float64(), "region": pa.string()}


def _full(rows: int = 300) -> pa.Table:
    rng = np.random.default_rng(5)
    return pa.table(
        {
            "age": rng.normal(40, 10, rows),
            "income": rng.normal(5, 1, rows),
            "region": rng.choice(["a", "b", "c"], rows).tolist(),
        }
    )


def _empty() -> pa.Table:
    return pa.table({name: pa.array([], type=kind) for name, kind in COLUMNS.items()})


def _csv(path: Path, table: pa.Table) -> Path:
    """A CSV file: the header line, then the rows (none for an empty window)."""
    lines = [",".join(table.column_names)]
    lines += [",".join(str(v) for v in row.values()) for row in table.to_pylist()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def _parquet_no_row_groups(path: Path, table: pa.Table) -> Path:
    """A Parquet file whose writer never wrote a row group (a schema and no data at all)."""
    with pq.ParquetWriter(path, table.schema):
        pass
    return path


def _csv_header_only_no_line_break(path: Path, table: pa.Table) -> Path:
    """A CSV file of just its header, without a final line break (pyarrow's CSV reader
    calls that "Empty CSV file or block"; a new user met that wording)."""
    path.write_text(",".join(table.column_names))
    return path


WRITERS: dict[str, Callable[[Path, pa.Table], Path]] = {
    "empty.csv": _csv,
    "header-no-line-break.csv": _csv_header_only_no_line_break,
    "empty.parquet": _parquet,
    "no-row-groups.parquet": _parquet_no_row_groups,
}


@pytest.fixture(params=sorted(WRITERS))
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    name: str = request.param
    return WRITERS[name](tmp_path / name, _empty())


@pytest.mark.parametrize("baseline_format", ["csv", "parquet"])
def test_an_empty_current_window_is_one_message_naming_the_file(
    empty: Path, baseline_format: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / f"good.{baseline_format}"
    (_csv if baseline_format == "csv" else _parquet)(good, _full())
    code, out, err = run(["detect", "--baseline", str(good), "--current", str(empty)], capsys)
    assert (code, out) == (2, "")
    assert err == f"driftwarden: error: {empty}: the window is empty (no rows)\n"


def test_an_empty_baseline_window_is_the_same_message(
    empty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _parquet(tmp_path / "good.parquet", _full())
    code, out, err = run(["detect", "--baseline", str(empty), "--current", str(good)], capsys)
    assert (code, out) == (2, "")
    assert err == f"driftwarden: error: {empty}: the window is empty (no rows)\n"


def test_profiling_an_empty_window_is_the_same_message(
    empty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "base.dwprofile"
    code, out, err = run(["profile", "--input", str(empty), "--output", str(output)], capsys)
    assert (code, out) == (2, "")
    assert err == f"driftwarden: error: {empty}: the window is empty (no rows)\n"
    assert not output.exists()


def test_an_empty_current_window_against_a_stored_profile(
    empty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "base.dwprofile"
    good = _parquet(tmp_path / "good.parquet", _full())
    code, _, err = run(["profile", "--input", str(good), "--output", str(profile)], capsys)
    assert code == 0, err
    code, out, err = run(["detect", "--baseline", str(profile), "--current", str(empty)], capsys)
    assert (code, out) == (2, "")
    assert err == f"driftwarden: error: {empty}: the window is empty (no rows)\n"


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n\n", None])
@pytest.mark.parametrize("role", ["baseline", "current"])
def test_a_file_without_columns_is_one_message_in_either_role(
    content: bytes | None, role: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 0-byte or blank CSV and a Parquet file without columns: one wording, as baseline
    or as current (before: "No columns to parse from file", "the file has no columns" and
    "column(s) not found: ..." for the same fault)."""
    if content is None:
        bad = tmp_path / "nocolumns.parquet"
        pq.write_table(pa.table({}), bad)
    else:
        bad = tmp_path / "nocolumns.csv"
        bad.write_bytes(content)
    good = _parquet(tmp_path / "good.parquet", _full())
    pair = [str(bad), str(good)] if role == "baseline" else [str(good), str(bad)]
    code, out, err = run(["detect", "--baseline", pair[0], "--current", pair[1]], capsys)
    assert (code, out) == (2, "")
    assert err == f"driftwarden: error: {bad}: the file has no columns\n"
