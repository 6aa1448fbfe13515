"""`driftwarden operator`'s alerting options (argparse only: the CLI stays light)."""

from __future__ import annotations

import argparse

from driftwarden.operator.argtypes import port, positive

DEFAULT_RECEIVER_PORT = 9809
DEFAULT_SYNC_SECONDS = 300.0
DEFAULT_LOOKAHEAD_HOURS = 24.0


def add_alerting_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("alerting (docs/alerting.md)")
    group.add_argument(
        "--alert-receiver-port",
        type=port,
        default=DEFAULT_RECEIVER_PORT,
        help="port of the Alertmanager webhook receiver, POST /alertmanager/webhook; it "
        "records notifications in the results database (needs --database-url); 0 turns it off "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--alert-receiver-token-file",
        help="file holding a bearer token the receiver requires (Alertmanager's "
        "http_config.authorization.credentials_file); default: no token",
    )
    group.add_argument(
        "--alertmanager-url",
        default="",
        help="Alertmanager's base URL, e.g. http://alertmanager:9093: acknowledgements "
        "and maintenance windows become silences there (default: off)",
    )
    group.add_argument(
        "--alert-sync-interval",
        type=positive,
        default=DEFAULT_SYNC_SECONDS,
        help="seconds between checks of every monitor's silences (maintenance windows ahead "
        "of time, ended acknowledgements; default: %(default)s)",
    )
    group.add_argument(
        "--maintenance-lookahead",
        type=positive,
        default=DEFAULT_LOOKAHEAD_HOURS,
        help="hours ahead a recurring maintenance window's silences are created "
        "(default: %(default)s)",
    )
