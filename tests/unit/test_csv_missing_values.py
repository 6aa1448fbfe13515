"""One missing-value rule for CSV files (`tables.CSV_MISSING_MARKERS`, docs/statistics.md):
an empty field is missing in every column; NA, NaN, nan and null are missing only in a
column read as numbers (booleans, times); in a text column they are values, as Parquet
strings are. A fresh user's `country` column had n=1647 from CSV and 5000 from Parquet
(pandas' default na_values made "NA" (Namibia), "None" and "null" missing)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftwarden.detectors.cli import main
from driftwarden.detectors.tables import CSV_MISSING_MARKERS, iter_chunks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "statistics.md"


def _window(seed: int, shift: float, rows: int = 600) -> tuple[pa.Table, str]:
    """The same window as a Parquet table and as CSV text. The text column holds "NA",
    "None", "null", real nulls and (CSV) empty fields, which are the table's nulls: a CSV
    file cannot tell an empty string from no value. The number column holds NaN, written
    to the CSV as NaN, nan, NA, null and empty fields alike."""
    rng = np.random.default_rng(seed)
    country = rng.choice(np.array(["NA", "None", "null", "US", "DE", ""], dtype=object), rows)
    income = rng.normal(5 + shift, 1, rows)
    income[::17] = np.nan
    nulls = [None if c == "" else str(c) for c in country]
    table = pa.table({"country": pa.array(nulls, pa.string()), "income": income})
    markers = ["NaN", "nan", "NA", "null", ""]
    lines = ["country,income"]
    for i, (c, x) in enumerate(zip(country, income, strict=True)):
        number = markers[i % len(markers)] if np.isnan(x) else repr(float(x))
        lines.append(f"{c},{number}")
    return table, "\n".join(lines) + "\n"


def _detect(baseline: Path, current: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["detect", "--baseline", str(baseline), "--current", str(current),
                 "--format", "json"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_csv_and_parquet_of_one_table_give_the_same_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = {}
    for fmt in ("csv", "parquet"):
        folder = tmp_path / fmt
        folder.mkdir()
        for name, (seed, shift) in {"base": (1, 0.0), "cur": (2, 0.5)}.items():
            table, text = _window(seed, shift)
            path = folder / f"{name}.{fmt}"
            if fmt == "csv":
                path.write_text(text)
            else:
                pq.write_table(table, path)
        reports[fmt] = _detect(folder / f"base.{fmt}", folder / f"cur.{fmt}", capsys)
    assert reports["csv"] == reports["parquet"]
    table, _ = _window(1, 0.0)
    features = json.loads(reports["csv"])["features"]
    country = next(f for f in features if f["name"] == "country")
    # every non-null text value counted, "NA", "None" and "null" among them
    assert country["n_baseline"] == table.column("country").drop_null().length() > 400


def test_text_markers_are_values_and_number_markers_missing(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("country,income\nNA,1\nNone,NaN\nnull,nan\n,NA\nN/A,null\nNamibia,\nUS,2\n")
    (frame,) = iter_chunks(path, None)
    assert frame["country"].tolist()[:6] == ["NA", "None", "null", None, "N/A", "Namibia"]
    assert frame["income"].dtype == np.float64
    assert frame["income"].isna().tolist() == [False, True, True, True, True, True, False]


def test_other_pandas_markers_are_type_errors_in_a_number_column(tmp_path: Path) -> None:
    """`N/A` is not on the list: in a number column it is a value that is not a number."""
    path = tmp_path / "w.csv"
    path.write_text("x\n" + "\n".join(str(i) for i in range(300)) + "\nN/A\n")
    (frame,) = iter_chunks(path, None)
    assert frame["x"].iloc[-1] == "N/A"
    assert pd.to_numeric(frame["x"].iloc[:-1]).notna().all()


def test_the_documented_list_is_the_code_s_list() -> None:
    text = DOCS.read_text()
    sentence = re.search(r"so are\s+exactly the fields (.*?);", text, re.S)
    assert sentence is not None
    documented = tuple(re.findall(r"`([^`]+)`", sentence.group(1)))
    assert documented == CSV_MISSING_MARKERS
