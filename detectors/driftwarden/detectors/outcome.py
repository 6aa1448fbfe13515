"""How a run ended: the one `RunOutcome` and the failure reasons, shared by every layer.

The Job's summary, the results database (`monitor_runs.outcome`) and the operator's status
all use these values, so they live at the bottom of the detectors, beside the error roots:
storage may import them, and the Job contract re-exports them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FailureReason", "RunOutcome"]

# Spellings the results database used before revision 0002 (migrated by it; still read).
_LEGACY_OUTCOMES = {
    "succeeded": "Succeeded",
    "insufficient_data": "InsufficientData",
    "invalid_input": "InvalidInput",
    "failed": "Failed",
}


class RunOutcome(StrEnum):
    """How a detector run ended."""

    SUCCEEDED = "Succeeded"
    INSUFFICIENT_DATA = "InsufficientData"
    INVALID_INPUT = "InvalidInput"
    FAILED = "Failed"

    @classmethod
    def _missing_(cls, value: object) -> RunOutcome | None:
        if isinstance(value, str) and value in _LEGACY_OUTCOMES:
            return cls(_LEGACY_OUTCOMES[value])
        return None


class FailureReason(StrEnum):
    """Why a run did not evaluate (CamelCase: the operator shows it as a condition reason).

    Each comes from one distinct error; the exit code says whether the Job retries.
    """

    SOURCE_UNREACHABLE = "SourceUnreachable"  # exit 3: the source's server is down
    AUTHENTICATION_FAILED = "AuthenticationFailed"  # exit 2: wrong credentials in the Secret
    TABLE_NOT_FOUND = "TableNotFound"  # exit 2
    COLUMN_NOT_FOUND = "ColumnNotFound"  # exit 2
    INSUFFICIENT_DATA = "InsufficientData"  # exit 0: an outcome, recorded like a run
    INVALID_RUN_CONFIG = "InvalidRunConfig"  # exit 2: the run configuration file
    INVALID_INPUT = "InvalidInput"  # exit 2: the data (e.g. a timestamp column's type)
    RESULTS_DATABASE_UNAVAILABLE = "ResultsDatabaseUnavailable"  # exit 3 (2: schema problem)
    TIMEOUT = "Timeout"  # exit 3: a statement ran past its timeout
    INTERNAL = "Internal"  # exit 4: a bug in driftwarden
