"""The two error roots and the one exit-code table (driftwarden.detectors.errors)."""

from __future__ import annotations

import pytest

from driftwarden.detectors import cli
from driftwarden.detectors.engine import DetectionInputError
from driftwarden.detectors.errors import DriftwardenError, ExitCode, InputError, TransientError
from driftwarden.detectors.profile import ProfileFormatError
from driftwarden.detectors.sources import errors as source_errors
from driftwarden.detectors.storage import (
    DatabaseConfigError,
    DatabaseOperationError,
    DatabaseUnreachableError,
    SchemaMissingError,
    SchemaTooNewError,
)
from driftwarden.detectors.tables import TableError

INVALID = [
    DetectionInputError,
    ProfileFormatError,
    TableError,
    DatabaseConfigError,
    SchemaMissingError,
    SchemaTooNewError,
    source_errors.InvalidNameError,
    source_errors.TableNotFoundError,
    source_errors.ColumnNotFoundError,
    source_errors.TimestampTypeError,
]
TRANSIENT = [
    DatabaseUnreachableError,
    DatabaseOperationError,
    source_errors.SourceUnreachableError,
    source_errors.QueryTimeoutError,
]


def test_exit_codes_are_distinct_and_fixed() -> None:
    # Pipelines and the Job's podFailurePolicy depend on these numbers: they never move.
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4]
    assert InputError.exit_code is ExitCode.INVALID_INPUT
    assert TransientError.exit_code is ExitCode.TRANSIENT


@pytest.mark.parametrize("error", INVALID, ids=lambda e: e.__name__)
def test_input_errors_are_never_retried(error: type[DriftwardenError]) -> None:
    assert issubclass(error, InputError)
    assert not issubclass(error, TransientError)
    assert error.exit_code is ExitCode.INVALID_INPUT


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: e.__name__)
def test_transient_errors_are_retried(error: type[DriftwardenError]) -> None:
    assert issubclass(error, TransientError)
    assert not issubclass(error, InputError)
    assert error.exit_code is ExitCode.TRANSIENT


def test_an_internal_error_is_one_line_with_its_own_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_args: object) -> int:
        return {}["a bug"]  # type: ignore[no-any-return]

    monkeypatch.setattr(cli, "_profile", broken)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["profile", "--input", "x.parquet", "--output", "x.dwprofile"])
    assert exit_info.value.code == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "internal error (KeyError: 'a bug')" in err
    assert "Traceback" not in err
