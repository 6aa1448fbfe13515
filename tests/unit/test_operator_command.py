"""`driftwarden operator`'s arguments: a light module whose defaults are the operator's."""

from __future__ import annotations

from driftwarden.operator import command
from driftwarden.operator.handlers.settings import Tuning


def test_the_parser_defaults_are_the_operator_tuning() -> None:
    assert Tuning.workers == command.WORKERS
    assert Tuning.watch_inactivity_seconds == command.WATCH_INACTIVITY_SECONDS
