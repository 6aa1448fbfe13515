"""The error roots and the one exit-code table of the `driftwarden` CLI and the detector Job.

Every error the detectors raise on purpose derives from one of two roots, because the two
call for opposite handling:

- `InputError`: the input is wrong (a file, a column, a configuration, a profile, a URL).
  Running again cannot help, so a Job must not retry it; the user must fix the input.
- `TransientError`: something outside the input failed (a database or source unreachable,
  a timeout). The same run can succeed later, so a Job retries it through its backoff.

Exit codes (the CLI's `detect`, `profile`, `db ...` and the Job's `run` share them):

| code | meaning                                                        | in a Job         |
|------|----------------------------------------------------------------|------------------|
| 0    | the command did its work (drift found or not)                  | succeeded        |
| 1    | `--fail-on` was met: the run's severity reached the level      | never set        |
| 2    | invalid input (`InputError`, bad arguments): fix, run again    | failed, no retry |
| 3    | transient failure (`TransientError`): the same run may succeed | retried          |
| 4    | internal error: a bug in driftwarden; please report it         | retried          |

Exit 1 is a result, not an error, so a CI pipeline that gates on `--fail-on` never mistakes
a crash for "drift found". Messages are one line and never contain credentials.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["DriftwardenError", "ExitCode", "InputError", "TransientError"]


class ExitCode(IntEnum):
    """The exit codes of every `driftwarden` command (see the module docstring)."""

    OK = 0
    FAIL_ON = 1
    INVALID_INPUT = 2
    TRANSIENT = 3
    INTERNAL = 4


class DriftwardenError(Exception):
    """Base of the errors raised on purpose; `exit_code` says how a command ends on it."""

    exit_code: ExitCode = ExitCode.INTERNAL


class InputError(DriftwardenError):
    """The input is invalid (exit code 2, never retried); the message names what to fix."""

    exit_code = ExitCode.INVALID_INPUT


class TransientError(DriftwardenError):
    """A dependency failed for now (exit code 3, retried by the Job's backoff)."""

    exit_code = ExitCode.TRANSIENT
