"""The names the history holds: which monitors, features, methods and runs exist, so that a
command given a name that is not there says so (and offers the closest one) instead of
printing an empty listing that reads as "nothing happened".

A monitor exists when it has a run, an alert or a retraining decision. Every query is
bounded (`limit`) and every name a user typed is a bound parameter, never SQL text. These
run on the error path and when a bare monitor name must be resolved to its namespace.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from driftwarden.detectors.storage import models as m
from driftwarden.detectors.storage.database import connection

#: The most names one lookup returns for a hint (a hint shows one, or the first few).
MAX_NAMES = 10_000


def _monitor_keys() -> list[tuple[sa.ColumnElement[str], sa.ColumnElement[str], sa.Table]]:
    """(namespace, name, table) of every table that names a monitor."""
    runs, alerts, events = m.monitor_runs, m.alerts, m.retrain_events
    return [
        (runs.c.monitor_namespace, runs.c.monitor_name, runs),
        (alerts.c.monitor_namespace, alerts.c.monitor_name, alerts),
        (events.c.namespace, events.c.monitor_name, events),
    ]


def monitor_namespaces(engine: Engine, name: str, *, limit: int = MAX_NAMES) -> list[str]:
    """The namespaces holding a monitor called `name`, sorted."""
    parts = [
        sa.select(namespace.label("namespace")).where(monitor == name)
        for namespace, monitor, _ in _monitor_keys()
    ]
    query = sa.union(*parts).order_by("namespace").limit(limit)
    with connection(engine) as conn:
        return [str(r) for r in conn.execute(query).scalars()]


def monitor_exists(engine: Engine, namespace: str, name: str) -> bool:
    """Whether monitor `namespace`/`name` has a run, an alert or a retraining decision."""
    with connection(engine) as conn:
        for ns, monitor, table in _monitor_keys():
            query = sa.select(sa.literal(1)).select_from(table)
            if conn.execute(query.where(ns == namespace, monitor == name).limit(1)).first():
                return True
    return False


def monitors(
    engine: Engine, namespace: str | None = None, *, limit: int = MAX_NAMES
) -> list[tuple[str, str]]:
    """(namespace, name) of the monitors the history holds (of one namespace when given)."""
    parts = []
    for ns, monitor, _ in _monitor_keys():
        part = sa.select(ns.label("namespace"), monitor.label("name")).where(monitor != "")
        parts.append(part if namespace is None else part.where(ns == namespace))
    query = sa.union(*parts).order_by("namespace", "name").limit(limit)
    with connection(engine) as conn:
        return [(str(r.namespace), str(r.name)) for r in conn.execute(query)]


def feature_exists(
    engine: Engine, namespace: str, name: str, feature: str, method: str | None = None
) -> bool:
    """Whether the monitor ever stored a drift result of `feature` (by `method` when given)."""
    d = m.drift_results
    query = sa.select(sa.literal(1)).where(
        d.c.monitor_namespace == namespace, d.c.monitor_name == name, d.c.feature == feature
    )
    if method is not None:
        query = query.where(d.c.method == method)
    with connection(engine) as conn:
        return conn.execute(query.limit(1)).first() is not None


def monitor_features(
    engine: Engine,
    namespace: str,
    name: str,
    *,
    since: datetime | None = None,
    feature: str | None = None,
    limit: int = MAX_NAMES,
) -> list[str]:
    """The features a monitor stored drift results of since `since`, sorted; with `feature`,
    the methods that feature was measured by instead."""
    d = m.drift_results
    column = d.c.feature if feature is None else d.c.method
    query = sa.select(column).where(d.c.monitor_namespace == namespace, d.c.monitor_name == name)
    if feature is not None:
        query = query.where(d.c.feature == feature)
    if since is not None:
        query = query.where(d.c.observed_at >= since)
    query = query.distinct().order_by(column).limit(limit)
    with connection(engine) as conn:
        return [str(r) for r in conn.execute(query).scalars()]


def recent_run_ids(engine: Engine, *, namespace: str | None = None, limit: int = 1000) -> list[str]:
    """The ids of the newest runs (of one namespace's monitors when given), newest first."""
    runs = m.monitor_runs
    query = sa.select(runs.c.run_id)
    if namespace is not None:
        query = query.where(runs.c.monitor_namespace == namespace)
    query = query.order_by(runs.c.started_at.desc(), runs.c.run_id).limit(limit)
    with connection(engine) as conn:
        return [str(r) for r in conn.execute(query).scalars()]


def reference_profile_names(engine: Engine, namespace: str, *, limit: int = 1000) -> list[str]:
    """The names of the namespace's stored baselines, sorted."""
    table = m.reference_profiles
    query = (
        sa.select(table.c.name)
        .where(table.c.namespace == namespace)
        .order_by(table.c.name)
        .limit(limit)
    )
    with connection(engine) as conn:
        return [str(r) for r in conn.execute(query).scalars()]
