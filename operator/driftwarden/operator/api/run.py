"""The contract between the operator and a detector Job, owned by the detectors.

Re-exported from `driftwarden.detectors.job.contract` (the Job must not import the
operator): the run configuration's location, the environment variables, the exit codes and
the `RunSummary` the Job writes to its termination message. See docs/job.md.
"""

from __future__ import annotations

from driftwarden.detectors.job.contract import (
    CONFIG_DIR,
    CONFIG_FILE,
    CONFIG_PATH,
    CONFIG_VERSION_KEY,
    DATA_DIR,
    ENV_DATABASE_URL,
    ENV_JOB_NAME,
    ENV_MONITOR,
    ENV_RUN_ID,
    ENV_SCHEDULED_TIME,
    ENV_SOURCE_URL,
    ENV_SUMMARY_PATH,
    EXIT_EVALUATED,
    EXIT_INTERNAL,
    EXIT_INVALID_INPUT,
    EXIT_TRANSIENT,
    RUN_CONFIG_VERSION,
    SCHEDULED_FROM_JOB_NAME,
    SUMMARY_PATH,
    TERMINATION_MESSAGE_LIMIT,
    RunSummary,
    documented_env,
    documented_exit_codes,
    run_id_of,
)

__all__ = [
    "CONFIG_DIR",
    "CONFIG_FILE",
    "CONFIG_PATH",
    "CONFIG_VERSION_KEY",
    "DATA_DIR",
    "ENV_DATABASE_URL",
    "ENV_JOB_NAME",
    "ENV_MONITOR",
    "ENV_RUN_ID",
    "ENV_SCHEDULED_TIME",
    "ENV_SOURCE_URL",
    "ENV_SUMMARY_PATH",
    "EXIT_EVALUATED",
    "EXIT_INTERNAL",
    "EXIT_INVALID_INPUT",
    "EXIT_TRANSIENT",
    "RUN_CONFIG_VERSION",
    "SCHEDULED_FROM_JOB_NAME",
    "SUMMARY_PATH",
    "TERMINATION_MESSAGE_LIMIT",
    "RunSummary",
    "documented_env",
    "documented_exit_codes",
    "run_id_of",
]
