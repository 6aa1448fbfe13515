"""What `driftwarden operator` starts for alerting, from its command-line options."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from driftwarden.operator.k8s.objects import Cluster

from .alertmanager import AlertmanagerClient
from .receiver import ReceiverServer, build_app
from .sync import SilenceSync

log = logging.getLogger("driftwarden.operator.alerting")

MAX_TOKEN_BYTES = 4096


class AlertingConfigError(ValueError):
    """An alerting option cannot be used (the message says which)."""


@dataclass
class Alerting:
    receiver: ReceiverServer | None
    silences: SilenceSync | None

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()


def _token(path: str | None) -> str | None:
    if not path:
        return None
    try:
        raw = Path(path).read_bytes()[: MAX_TOKEN_BYTES + 1]
    except OSError as exc:
        raise AlertingConfigError(
            f"--alert-receiver-token-file {path}: {exc.strerror or exc}"
        ) from None
    token = raw.decode("utf-8", "replace").strip()
    if not token or len(raw) > MAX_TOKEN_BYTES or not token.isprintable():
        raise AlertingConfigError(
            f"--alert-receiver-token-file {path}: expected one printable token"
        )
    return token


def start_alerting(args: argparse.Namespace, cluster: Cluster, results: Engine | None) -> Alerting:
    """Start the receiver (every replica) and build the silence sync (used by the leader)."""
    token = _token(args.alert_receiver_token_file)
    silences = None
    if args.alertmanager_url:
        try:
            client = AlertmanagerClient(args.alertmanager_url)
        except ValueError as exc:
            raise AlertingConfigError(str(exc)) from None
        silences = SilenceSync(
            cluster, client, results, lookahead=timedelta(hours=args.maintenance_lookahead)
        )
    receiver = None
    if args.alert_receiver_port:
        if results is None:
            log.warning(
                "the alert receiver is off: it records into the results database "
                "(--database-url or $DRIFTWARDEN_DATABASE_URL)"
            )
        else:
            receiver = ReceiverServer(
                build_app(results, token), "0.0.0.0", args.alert_receiver_port
            )
            try:
                receiver.start()
            except OSError as exc:
                raise AlertingConfigError(
                    f"--alert-receiver-port {args.alert_receiver_port}: {exc.strerror or exc}"
                ) from None
    return Alerting(receiver, silences)
