"""A data file naming a column twice is refused, naming the file and the column.

Found by trial: a CSV header `a,a,region` was read by pandas as `a`, `a.1`, `region`; the
run then failed with "k.csv: column(s) not found: a.1" (the other window's name, a column
nobody wrote) or compared only the first `a`. Right: exit 2, "column 'a' is named twice".
A real column named `a.1` beside `a` is fine.
"""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftwarden.detectors.cli import main


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _csv(path: Path, header: str) -> None:
    rows = "\n".join(f"{i % 7},{i % 5},{i % 3}" for i in range(300))
    path.write_text(header + "\n" + rows + "\n")


@pytest.mark.parametrize("header", ["a,a,region", "region,a,a", "a,b,a", "x,x,x"])
@pytest.mark.parametrize("side", ["baseline", "current"])
def test_duplicate_csv_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, side: str
) -> None:
    _csv(tmp_path / "dup.csv", header)
    _csv(tmp_path / "ok.csv", "a,b,region")
    files = {"baseline": "ok.csv", "current": "ok.csv", side: "dup.csv"}
    argv = ["detect", "--baseline", str(tmp_path / files["baseline"])]
    code = _main([*argv, "--current", str(tmp_path / files["current"])])
    _, err = capsys.readouterr()
    assert code == 2
    assert "dup.csv" in err
    assert "named twice" in err


def test_duplicate_parquet_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = pa.Table.from_arrays([pa.array(range(300)), pa.array(range(300))], names=["a", "a"])
    pq.write_table(table, tmp_path / "dup.parquet")
    argv = ["detect", "--baseline", str(tmp_path / "dup.parquet")]
    code = _main([*argv, "--current", str(tmp_path / "dup.parquet")])
    _, err = capsys.readouterr()
    assert code == 2
    assert "named twice" in err


def test_real_dotted_name_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _csv(tmp_path / "ok.csv", "a,a.1,region")
    argv = ["detect", "--baseline", str(tmp_path / "ok.csv")]
    assert _main([*argv, "--current", str(tmp_path / "ok.csv")]) == 0
