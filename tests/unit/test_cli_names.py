"""Names typed on the history commands' command lines, against a real SQLite history:

- a name the history does not hold (a monitor, a feature of it, a method of the feature,
  a run) is exit 2 with one line naming it and the closest stored name;
- a bare monitor NAME is the one monitor of that name; in two namespaces it is refused,
  listing them (a new user's `driftwarden alerts --monitor scoring` mixed staging's alerts
  with production's);
- a name that exists with nothing in the period is an empty listing, exit 0;
- `detect`'s column names (`--categorical`, `--features`, `--prediction`, `--label`) not
  among the features or the data name the closest one too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clirun import run_cli as run

from driftwarden.detectors.config import DetectionSpec
from driftwarden.detectors.engine import detect_frames
from driftwarden.detectors.history import drift_rows, performance_rows, quality_rows, run_record
from driftwarden.detectors.stats.severity import Severity
from driftwarden.detectors.storage import create_engine, upgrade, write_run
from driftwarden.detectors.storage.alerts import ReceivedAlert, record_notifications
from driftwarden.detectors.storage.names import monitor_features
from driftwarden.detectors.storage.types import AlertState

NOW = datetime.now(UTC).replace(microsecond=0)


def _frame(rng: np.random.Generator, shift: float, rows: int = 400) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, rows),
            "income": rng.normal(5, 1, rows),
            "region": rng.choice(["north", "south"], rows),
        }
    )


def _runs(engine: object, namespace: str, name: str, count: int = 2) -> None:
    """`count` real comparisons of monitor namespace/name, an hour apart, the newest 1h old."""
    rng = np.random.default_rng(7)
    for i in range(count):
        report = detect_frames(_frame(rng, 0), _frame(rng, 0.5 * i), DetectionSpec())
        started = NOW - timedelta(hours=count - i)
        record = run_record(
            report,
            run_id=f"{namespace}-{name}-{i}",
            monitor_namespace=namespace,
            monitor_name=name,
            started_at=started,
            finished_at=started + timedelta(minutes=1),
        )
        write_run(
            engine,  # type: ignore[arg-type]
            record,
            drift_rows(report),
            performance_rows(report),
            [],
            quality=quality_rows(report),
        )


def _alert(fingerprint: str, namespace: str, monitor: str, hours: int) -> ReceivedAlert:
    return ReceivedAlert(
        fingerprint=fingerprint,
        state=AlertState.FIRING,
        alertname="DriftwardenDriftCritical",
        namespace=namespace,
        monitor=monitor,
        severity=Severity.CRITICAL,
        message=f"age drifted in {namespace}",
        starts_at=NOW - timedelta(hours=hours),
        features=("age",),
    )


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`scoring` runs in prod and in staging; `fraud` only in prod; alerts for each."""
    path = tmp_path / "history.db"
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    for name in ("PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DRIFTWARDEN_SQLITE_PATH", str(path))
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    _runs(engine, "prod", "scoring")
    _runs(engine, "staging", "scoring")
    _runs(engine, "prod", "fraud")
    record_notifications(
        engine,
        [
            _alert("a" * 16, "prod", "scoring", 1),
            _alert("b" * 16, "staging", "scoring", 2),
            _alert("c" * 16, "prod", "fraud", 3),
        ],
        NOW,
    )
    engine.dispose()
    return tmp_path


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line of a command that must exit 2 and print nothing on stdout."""
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    return err.strip()


# --- features and methods ---------------------------------------------------------------


def test_a_misspelt_feature_is_exit_2_with_the_stored_name(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trial's example: `--feature agee` printed "(no results ...)" and exit 0."""
    argv = ["history", "feature", "--monitor", "prod/scoring", "--feature", "agee"]
    assert refused(argv, capsys) == (
        "driftwarden: error: feature 'agee' of monitor 'prod/scoring' is not in the history "
        "database (did you mean 'age'?)"
    )


def test_a_feature_like_none_lists_the_stored_ones(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["history", "feature", "--monitor", "prod/scoring", "--feature", "zzz"]
    assert refused(argv, capsys).endswith(
        "(its features in that period: 'age', 'income', 'region')"
    )


def test_a_misspelt_method_is_exit_2_with_the_stored_methods(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftwarden.detectors.storage import create_engine as engine_for

    engine = engine_for(f"sqlite:///{history / 'history.db'}")
    methods = monitor_features(engine, "prod", "scoring", feature="age")
    engine.dispose()
    assert "psi" in methods
    argv = ["history", "feature", "--monitor", "prod/scoring", "--feature", "age"]
    message = refused([*argv, "--method", "psii"], capsys)
    assert message == (
        "driftwarden: error: method 'psii' has no results for feature 'age' of monitor "
        "'prod/scoring' (did you mean 'psi'?)"
    )
    code, out, err = run([*argv, "--method", "psi", "--format", "json"], capsys)
    assert (code, len(json.loads(out))) == (0, 2), err


def test_a_stored_feature_with_nothing_in_the_period_is_an_empty_listing(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["history", "feature", "--monitor", "prod/scoring", "--feature", "age"]
    code, out, err = run([*argv, "--since", "30m"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("(no results for feature 'age'")


# --- monitors ---------------------------------------------------------------------------

UNKNOWN_MONITOR = [
    ["history", "runs", "--monitor", "prod/scorng"],
    ["history", "feature", "--monitor", "prod/scorng", "--feature", "age"],
    ["history", "alerts", "--monitor", "prod/scorng"],
    ["history", "retrains", "--monitor", "prod/scorng"],
    ["report", "--monitor", "prod/scorng"],
    ["alerts", "--monitor", "prod/scorng"],
    ["alerts", "-n", "prod", "--monitor", "scorng"],
]


@pytest.mark.parametrize("argv", UNKNOWN_MONITOR, ids=[" ".join(a[:2]) for a in UNKNOWN_MONITOR])
def test_an_unknown_monitor_is_exit_2_with_the_closest(
    history: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(argv, capsys) == (
        "driftwarden: error: monitor 'prod/scorng' is not in the history database "
        "(did you mean 'prod/scoring'?)"
    )


@pytest.mark.parametrize(
    "argv",
    [["history", "runs", "--monitor", "scorng"], ["alerts", "--monitor", "scorng"]],
)
def test_an_unknown_bare_name_is_exit_2_with_the_closest(
    history: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(argv, capsys) == (
        "driftwarden: error: monitor 'scorng' is not in the history database "
        "(did you mean 'scoring'?)"
    )


def test_alerts_of_a_name_in_two_namespaces_is_refused_not_mixed(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trial's case: staging's and production's alerts in one listing, unmarked."""
    assert refused(["alerts", "--monitor", "scoring"], capsys) == (
        "driftwarden: error: monitor 'scoring' exists in namespaces prod, staging: give "
        "NAMESPACE/NAME or -n"
    )
    for argv, namespace in (
        (["alerts", "-n", "staging", "--monitor", "scoring"], "staging"),
        (["alerts", "--monitor", "prod/scoring"], "prod"),
    ):
        code, out, err = run([*argv, "-o", "json"], capsys)
        assert code == 0, err
        found = json.loads(out)
        assert [(a["monitor_namespace"], a["monitor_name"]) for a in found] == [
            (namespace, "scoring")
        ]


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "runs", "--monitor", "scoring"],
        ["history", "feature", "--monitor", "scoring", "--feature", "age"],
        ["history", "alerts", "--monitor", "scoring"],
        ["history", "retrains", "--monitor", "scoring"],
        ["report", "--monitor", "scoring"],
    ],
)
def test_history_of_a_name_in_two_namespaces_is_refused(
    history: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(argv, capsys) == (
        "driftwarden: error: monitor 'scoring' exists in namespaces prod, staging: give "
        "NAMESPACE/NAME"
    )


def test_a_name_in_one_namespace_is_that_monitor(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["history", "runs", "--monitor", "fraud", "--format", "json"], capsys)
    assert code == 0, err
    assert [r["run_id"] for r in json.loads(out)] == ["prod-fraud-1", "prod-fraud-0"]
    code, out, err = run(["alerts", "--monitor", "fraud", "-o", "json"], capsys)
    assert code == 0, err
    assert [a["monitor_namespace"] for a in json.loads(out)] == ["prod"]
    code, page, err = run(["report", "--monitor", "fraud"], capsys)
    assert code == 0, err
    assert "prod/fraud" in page


def test_a_namespace_alone_is_a_filter(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As `kubectl get -n nowhere`: no match is an empty listing, not an error."""
    code, out, err = run(["alerts", "-n", "nowhere"], capsys)
    assert (code, out.strip(), err) == (0, "(no alerts match)", "")


def test_a_hostile_name_is_one_escaped_line(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused(["history", "runs", "--monitor", "prod/\x1b[31mred\nx"], capsys)
    assert "\x1b" not in message
    assert "\\x1b[31mred\\nx" in message


# --- runs -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["history", "show"], ["report", "--run"]])
def test_a_misspelt_run_is_exit_2_with_the_closest(
    history: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused([*argv, "prod-scoring-l"], capsys) == (
        "driftwarden: error: run 'prod-scoring-l' is not in the history database "
        "(did you mean 'prod-scoring-1'?)"
    )


def test_the_history_commands_stay_light_to_import() -> None:
    """`hints` joined the history commands' imports: still no pandas, numba or SQLAlchemy
    before a handler runs (every `driftwarden` command builds their parsers)."""
    code = (
        "import sys\n"
        "import driftwarden.detectors.alertscli, driftwarden.detectors.historycli\n"
        "heavy = {'pandas', 'numba', 'numpy', 'sqlalchemy', 'pyarrow'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# --- detect's column names ----------------------------------------------------------------


@pytest.fixture
def windows(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(5)
    paths = []
    for name in ("baseline", "current"):
        frame = _frame(rng, 0)
        frame["score"] = rng.uniform(0, 1, len(frame))
        frame["defaulted"] = rng.integers(0, 2, len(frame))
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        paths.append(str(tmp_path / f"{name}.csv"))
    return ["detect", "--baseline", paths[0], "--current", paths[1]]


def test_a_misspelt_categorical_feature_names_the_closest(
    windows: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--features a,b --categorical regoin` said only which name was not a feature."""
    argv = [*windows, "--features", "age,region", "--categorical", "regoin"]
    assert refused(argv, capsys) == (
        "driftwarden: error: --categorical names column(s) not among the features: regoin "
        "(did you mean 'region'?)"
    )
    argv = [*windows, "--features", "age,income", "--categorical", "zzz"]
    assert refused(argv, capsys).endswith("zzz (its features: 'age', 'income')")
    config = tmp_path / "settings.yaml"
    config.write_text("features:\n  - {name: age}\n  - {name: region}\n")
    argv = [*windows, "--config", str(config), "--categorical", "agee"]
    assert refused(argv, capsys).endswith("agee (did you mean 'age'?)")


COLUMN_OPTIONS = [
    (["--categorical", "regoin"], "categorical column 'regoin'", "region"),
    (["--features", "agee,income"], "feature 'agee'", "age"),
    (["--prediction", "scor"], "prediction column 'scor'", "score"),
    (["--label", "defaultd", "--task", "binary"], "label column 'defaultd'", "defaulted"),
]


@pytest.mark.parametrize(
    ("options", "named", "closest"), COLUMN_OPTIONS, ids=[o[0][0] for o in COLUMN_OPTIONS]
)
def test_a_column_not_in_the_data_names_the_closest(
    windows: list[str],
    options: list[str],
    named: str,
    closest: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    message = refused([*windows, *options], capsys)
    assert message.endswith(f"{named} is not in the data (did you mean {closest!r}?)")
