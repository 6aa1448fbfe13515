"""The command line of the detector Job: `driftwarden run` and `profile --store`.

Apart from `job.run` so that building the parser stays cheap: every `driftwarden` command
(`--version` and `--help` included) builds the whole parser, while `job.run` brings pandas,
SQLAlchemy, the engine and the storage. The handler imports `job.run` when it runs.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from pathlib import Path

from driftwarden.detectors.argtypes import MAX_CHUNK_ROWS, bounded_int
from driftwarden.detectors.chunks import SOURCE_CHUNK_ROWS
from driftwarden.detectors.config import PROFILE_NAME_PATTERN, parse_duration
from driftwarden.detectors.job.contract import (
    CONFIG_PATH,
    ENV_DATABASE_URL,
    ENV_RUN_ID,
    ENV_SCHEDULED_TIME,
    ENV_SOURCE_URL,
    ENV_SUMMARY_PATH,
)

DEFAULT_STATEMENT_TIMEOUT = "10m"


def add_run_subcommand(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `driftwarden run` (the detector Job's entry point)."""
    parser = sub.add_parser(
        "run",
        help="one detector run of a monitor (the Kubernetes Job's entry point)",
        description="Read both windows of a monitor, compare them, write the run to the "
        f"results database and a summary to the termination-message file. Environment: "
        f"{ENV_RUN_ID}, {ENV_SOURCE_URL}, {ENV_DATABASE_URL}, {ENV_SCHEDULED_TIME}, "
        f"{ENV_SUMMARY_PATH}. See docs/job.md.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(CONFIG_PATH),
        help="the run's settings, mounted from the monitor's ConfigMap (default: %(default)s)",
    )
    parser.add_argument("--run-id", help=f"the run id (default ${ENV_RUN_ID})")
    parser.add_argument(
        "--scheduled-time", help=f"RFC 3339 or Unix seconds (default ${ENV_SCHEDULED_TIME})"
    )
    parser.add_argument(
        "--summary-path",
        type=Path,
        help=f"where the run's summary is written (default ${ENV_SUMMARY_PATH})",
    )
    parser.add_argument(
        "--statement-timeout",
        type=positive_duration,
        default=DEFAULT_STATEMENT_TIMEOUT,
        help="the longest one query of the source may run, e.g. 10m (default: %(default)s)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=chunk_rows,
        default=SOURCE_CHUNK_ROWS,
        help=f"rows fetched from the source at a time, 1 to {MAX_CHUNK_ROWS} "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--store-baseline",
        metavar="NAME",
        type=profile_name,
        help="instead of a run: profile the baseline window (as of the scheduled time) and "
        "store it as reference profile NAME, for `baseline: {profileRef: {name: NAME}}`",
    )
    parser.add_argument(
        "--from-run",
        metavar="RUN_ID",
        help="with --store-baseline: pin the baseline window of that past run (refused when "
        "the source's rows no longer give the profile that run used)",
    )
    parser.set_defaults(handler=_run_command)


#: argparse type of `--chunk-rows`, as `detect` takes it (a usage error, exit 2, instead of
#: an internal error at run time).
chunk_rows = bounded_int("chunk-rows", MAX_CHUNK_ROWS)


def positive_duration(text: str) -> str:
    """argparse type of `--statement-timeout`: a positive duration such as 10m (kept as
    text; `RunOptions.from_args` parses it again)."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= timedelta():
        raise argparse.ArgumentTypeError(f"expected a positive duration, got {text[:30]!r}")
    return text


positive_duration.__name__ = "duration"


def profile_name(text: str) -> str:
    """A stored profile's name, checked as `baseline.profileRef.name` checks it, so every
    stored profile can be named by a monitor."""
    if len(text) > 253 or not re.fullmatch(PROFILE_NAME_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"invalid profile name {text[:64]!r}: lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters"
        )
    return text


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """`driftwarden profile --store NAME`: keep the profile in the results database."""
    parser.add_argument(
        "--store",
        metavar="NAME",
        type=profile_name,
        help="store the profile as baseline NAME in the results database "
        "(`baseline: {profileRef: {name: NAME}}`)",
    )
    parser.add_argument(
        "--database-url", help=f"results database for --store (default ${ENV_DATABASE_URL})"
    )
    parser.add_argument(
        "--namespace",
        default="default",
        help="namespace of the stored baseline (default: %(default)s)",
    )


def _run_command(args: argparse.Namespace) -> int:
    from driftwarden.detectors.job.run import run_command

    return run_command(args)
