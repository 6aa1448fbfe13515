"""`driftwarden operator`: run the operator against the current kubeconfig or in-cluster
configuration, with a liveness endpoint served on the event loop."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial

import kopf

# kopf raises its API errors (the HTTP status of a failed request) from this module only.
from kopf._cogs.clients.errors import APIError as KopfAPIError

from driftwarden.detectors.storage import create_engine
from driftwarden.detectors.storage.database import DatabaseConfigError, database_url_from
from driftwarden.operator.alerting.runtime import AlertingConfigError, start_alerting
from driftwarden.operator.api.common import SecretKeyRef
from driftwarden.operator.command import database_url
from driftwarden.operator.k8s.client import load_api_client
from driftwarden.operator.k8s.errors import ApiError
from driftwarden.operator.k8s.lease import lead
from driftwarden.operator.k8s.objects import Cluster
from driftwarden.operator.metrics.view import FleetView
from driftwarden.operator.reconcile.monitor import PlannerSettings

from .glue import Operator, reconcile_monitor
from .observe import start_metrics
from .registration import build_registry
from .retrain import Retraining, run_ingested
from .settings import STABLE_SECONDS, Tuning, operator_settings, restart_delay
from .tenancy import TENANT_SECRET, Tenancy, register_tenancy, tenancy_problem

log = logging.getLogger("driftwarden.operator")

ENV_POD_NAME = "POD_NAME"
ENV_DATABASE_URL = "DRIFTWARDEN_DATABASE_URL"


DATABASE_URL_OPTION = f"--database-url (${ENV_DATABASE_URL})"


def _results_secret(text: str) -> SecretKeyRef | None:
    if not text:
        return None
    name, _, key = text.partition("/")
    return SecretKeyRef(name=name, key=key or "url")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # one line per handled event is noise; failures still show
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    instance = os.environ.get(ENV_POD_NAME) or socket.gethostname()
    url = database_url(args)  # --database-url, else the environment (never --help's default)
    try:  # before the cluster: a malformed URL is the user's to fix (exit 2, no traceback)
        results = create_engine(database_url_from(url, DATABASE_URL_OPTION)) if url else None
    except DatabaseConfigError as exc:
        print(f"driftwarden operator: {exc}", file=sys.stderr)
        return 2
    try:
        api = load_api_client(args.kubeconfig)
    except ApiError as exc:
        print(f"driftwarden operator: {exc.message}", file=sys.stderr)
        return 2
    settings = PlannerSettings(results_secret=_results_secret(args.results_secret))
    problem = tenancy_problem(args.manage_tenant_credentials, results)
    if problem:
        print(f"driftwarden operator: {problem}", file=sys.stderr)
        return 2
    if args.manage_tenant_credentials:
        settings = replace(settings, tenant_secret=TENANT_SECRET)
    view = FleetView(feature_cap=args.metrics_feature_cap) if args.metrics_port else None
    op = Operator(Cluster(api, instance), settings, results, metrics=view)
    namespaces = tuple(args.namespace)
    start_metrics(op, namespaces, args.metrics_port)  # every replica serves, leader or not
    tuning = Tuning(workers=args.workers, watch_inactivity_seconds=args.watch_inactivity_timeout)
    try:
        alerting = start_alerting(args, op.cluster, results)
    except AlertingConfigError as exc:
        print(f"driftwarden operator: {exc}", file=sys.stderr)
        return 2
    retraining = Retraining(
        op,
        automatic=args.enable_automatic_retraining,
        sweep_seconds=max(1.0, args.retrain_sweep_interval),
    )
    op.after_ingest.append(partial(run_ingested, retraining))
    registry = build_registry(op, namespaces, retraining, silences=alerting.silences)
    if args.manage_tenant_credentials and results is not None:
        tenancy = Tenancy(op.cluster, results, namespaces, partial(reconcile_monitor, op))
        op.before_apply.append(tenancy.prepare)
        register_tenancy(registry, tenancy)

    def operate() -> None:
        if alerting.silences is not None:
            alerting.silences.start_periodic(
                namespaces, timedelta(seconds=args.alert_sync_interval)
            )
        restarted = view.count_watch_restart if view is not None else None
        asyncio.run(
            _kopf_operator(
                registry,
                operator_settings(tuning, instance),
                namespaces,
                args.liveness,
                restarted,
            )
        )

    if not args.leader_elect:
        operate()
        return 0

    def leading() -> None:
        log.info("%s holds the Lease %s/%s", instance, args.lease_namespace, args.lease_name)
        code = 0
        try:
            operate()
        except BaseException:
            log.exception("the operator stopped")
            code = 1
        os._exit(code)  # the Lease is renewed by this process only while it operates

    def lost() -> None:
        log.error("lost the Lease %s/%s: exiting", args.lease_namespace, args.lease_name)
        os._exit(1)

    lead(
        api,
        namespace=args.lease_namespace,
        name=args.lease_name,
        identity=instance,
        lease_seconds=args.lease_seconds,
        on_leading=leading,
        on_lost=lost,
    )
    return 1


async def _kopf_operator(
    registry: kopf.OperatorRegistry,
    settings: kopf.OperatorSettings,
    namespaces: tuple[str, ...],
    liveness: str,
    restarted: Callable[[], None] | None = None,
) -> None:
    """Run kopf until a signal stops it. When a watch fails with an API error kopf does not
    retry (kopf 1.45 re-lists on a `410 Gone` ERROR event in the stream, but an HTTP error
    response to the watch request, such as `410 Gone` or `400`, ends the watcher and with it
    the whole reactor), start it again in this process after a short backoff: every watch
    re-lists, as at a start, and the handlers are level-based and idempotent, so nothing is
    missed and nothing is done twice."""
    failures, began = 0, time.monotonic()
    while True:
        try:
            await kopf.operator(
                registry=registry,
                settings=settings,
                standalone=True,
                clusterwide=not namespaces,
                namespaces=namespaces,
                liveness_endpoint=liveness or None,
            )
            return  # stopped by a signal
        except KopfAPIError as exc:
            failures = 1 if time.monotonic() - began > STABLE_SECONDS else failures + 1
            delay = restart_delay(failures)
            log.warning(
                "a watch failed (%s %s): restarting the watches in %.1f s; they re-list everything",
                exc.status,
                " ".join(str(exc.args[0] if exc.args else exc).split())[:300],
                delay,
            )
            if restarted is not None:
                restarted()
            await asyncio.sleep(delay)
            began = time.monotonic()
