"""`driftwarden operator`: the subcommand's arguments, registered through the
`driftwarden.subcommands` entry point so the detectors' CLI never imports the operator.

This module stays light (argparse only): every `driftwarden` command, `--version` and
`--help` included, builds the parser, so kopf, the Kubernetes client and the operator are
imported only when the operator actually starts (`handlers/main.py`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from driftwarden.operator.alerting.options import add_alerting_options
from driftwarden.operator.argtypes import count, port, positive, positive_count

ENV_DATABASE_URL = "DRIFTWARDEN_DATABASE_URL"
ENV_AUTOMATIC_RETRAINING = "DRIFTWARDEN_AUTOMATIC_RETRAINING"
ENV_MANAGE_TENANT_CREDENTIALS = "DRIFTWARDEN_MANAGE_TENANT_CREDENTIALS"
RETRAIN_SWEEP_SECONDS = 60.0
#: defaults of handlers.settings.Tuning, repeated here so the parser imports nothing heavy
#: (tests/unit/test_operator_command.py keeps them equal)
WORKERS = 8
WATCH_INACTIVITY_SECONDS = 70.0
#: defaults of metrics.server.DEFAULT_PORT and metrics.view.DEFAULT_FEATURE_CAP (same test)
METRICS_PORT = 9808
METRICS_FEATURE_CAP = 50


def add_subcommand(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `driftwarden operator` (found through the `driftwarden.subcommands` entry
    point, so the detectors' CLI never imports the operator)."""
    parser = sub.add_parser(
        "operator",
        help="run the Kubernetes operator",
        description="Reconcile ModelMonitors into CronJobs and ingest their runs' results.",
    )
    # Every option with a default says it through %(default)s (the docs quote 9808, 9809,
    # 8 workers); tests/unit/test_cli_help.py checks it. Not ArgumentDefaultsHelpFormatter:
    # it printed "(default: None)" after "default: in-cluster" and the database URL's password.
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true",
        help="watch every namespace (what happens without --namespace too)",
    )  # fmt: skip
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="watch only this namespace; repeat for several (default: every namespace)",
    )
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: in-cluster, else $KUBECONFIG)"
    )
    parser.add_argument(
        "--liveness",
        default="http://0.0.0.0:8080/healthz",
        help="URL the liveness probe reads (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=positive_count,
        default=WORKERS,
        help="threads that run the handlers (default: %(default)s)",
    )
    parser.add_argument(
        "--watch-inactivity-timeout",
        type=positive,
        default=WATCH_INACTIVITY_SECONDS,
        help="seconds a watch of the API server may stay silent before it is restarted "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--results-secret",
        default="driftwarden-results/url",
        help="NAME/KEY of the results-database Secret in each monitor's namespace, used "
        "when the MonitorClass names none ('' for none; default: %(default)s)",
    )
    parser.add_argument(
        "--database-url",
        help=f"the results database, read to recover a run whose termination message was "
        f"lost (default: ${ENV_DATABASE_URL}, read when the operator starts so that --help "
        f"never prints its password; never passed to detector Pods)",
    )
    parser.add_argument(
        "--manage-tenant-credentials",
        action="store_true",
        default=os.environ.get(ENV_MANAGE_TENANT_CREDENTIALS, "").strip().lower() == "true",
        help="keep a PostgreSQL role per namespace with monitors (row-level security: its "
        "rows only) and its URL in the Secret driftwarden-tenant-results there, which the "
        "detector Pods then read instead of the class's results Secret; needs --database-url "
        "(a role with CREATEROLE owning the tables) and Secret rights "
        f"(default: %(default)s; ${ENV_MANAGE_TENANT_CREDENTIALS}=true turns it on)",
    )
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        help="act only while holding a coordination.k8s.io Lease (for several replicas); "
        "losing it exits the process (default: off)",
    )
    parser.add_argument(
        "--lease-namespace",
        default=os.environ.get("POD_NAMESPACE", "default"),
        help="namespace of the Lease ($POD_NAMESPACE, else default; default: %(default)s)",
    )
    parser.add_argument(
        "--lease-name",
        default="driftwarden-operator",
        help="name of the Lease (default: %(default)s)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=positive_count,
        default=15,
        help="seconds the Lease lasts unless renewed; a standby replica takes over within "
        "about that long after the leader stops (default: %(default)s)",
    )
    parser.add_argument(
        "--enable-automatic-retraining",
        action="store_true",
        default=os.environ.get(ENV_AUTOMATIC_RETRAINING, "").strip().lower() == "true",
        help="let RetrainPolicies with approval automatic start training Jobs (default: "
        f"%(default)s; ${ENV_AUTOMATIC_RETRAINING}=true turns it on); manual approvals work "
        "either way",
    )
    parser.add_argument(
        "--retrain-sweep-interval",
        type=positive,
        default=RETRAIN_SWEEP_SECONDS,
        help="seconds between two decisions over every RetrainPolicy (persistence and "
        "model-age triggers, approval expiry; default: %(default)s)",
    )
    parser.add_argument(
        "--metrics-port",
        type=port,
        default=METRICS_PORT,
        help="serve Prometheus metrics at http://0.0.0.0:PORT/metrics (0: none); see "
        "docs/metrics.md (default: %(default)s)",
    )
    parser.add_argument(
        "--metrics-feature-cap",
        type=count,
        default=METRICS_FEATURE_CAP,
        help="feature series per monitor: the most drifted features keep theirs (0: no cap; "
        "default: %(default)s)",
    )
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="debug logging, a line per handled event included (default: info; kopf's "
        "per-object lines only from warnings up)",
    )
    add_alerting_options(parser)
    parser.set_defaults(handler=_run)


def database_url(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> str | None:
    """--database-url, else $DRIFTWARDEN_DATABASE_URL: read when the operator starts, not
    as the option's default, so that `--help` never prints the URL (and its password)."""
    url: str | None = args.database_url or environ.get(ENV_DATABASE_URL)
    return url or None


def _run(args: argparse.Namespace) -> int:
    from driftwarden.operator.handlers.main import run

    return run(args)
