"""The history store: SQLAlchemy schema, Alembic migrations, writes, queries, retention.

Typical use by a detector Job::

    engine = create_engine()                 # URL from the environment
    check_schema_compatible(engine)          # refuse a schema newer than this code
    write_run(engine, run, drift_results, performance, alerts)

Independent of `driftwarden.detectors.sources` (import-linter enforces it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftwarden.detectors.storage.database import (
        DatabaseAuthenticationError,
        DatabaseConfigError,
        DatabaseOperationError,
        DatabasePermissionError,
        DatabaseUnreachableError,
        StorageError,
        create_engine,
        mask_url,
        redact,
        resolve_database_url,
    )
    from driftwarden.detectors.storage.migrate import (
        SchemaError,
        SchemaMissingError,
        SchemaOutdatedError,
        SchemaTooNewError,
        check_schema_compatible,
        upgrade,
    )
    from driftwarden.detectors.storage.repository import (
        acknowledge_alert,
        feature_trend,
        get_run,
        latest_status,
        load_reference_profile,
        monitor_history,
        open_alerts,
        record_retrain_event,
        resolve_alert,
        run_drifted_features,
        store_reference_profile,
        upsert_alert,
        write_run,
    )
    from driftwarden.detectors.storage.retention import (
        RetentionPolicy,
        RetentionResult,
        apply_retention,
    )
    from driftwarden.detectors.storage.types import (
        AlertRow,
        AlertState,
        DistributionRow,
        DriftResultRow,
        DriftType,
        FeaturePoint,
        PerformanceRow,
        QualityRow,
        ReferenceProfile,
        RetrainDecision,
        RetrainEventRow,
        RunOutcome,
        RunRecord,
    )

# Each name is imported from its module on first use (PEP 562): SQLAlchemy and Alembic
# take about a second to import, and `driftwarden db --help` or a `detect` that stores
# nothing should not pay for them.
_MODULES = {
    "DatabaseAuthenticationError": "database",
    "DatabaseConfigError": "database",
    "DatabaseOperationError": "database",
    "DatabasePermissionError": "database",
    "DatabaseUnreachableError": "database",
    "StorageError": "database",
    "create_engine": "database",
    "mask_url": "database",
    "redact": "database",
    "resolve_database_url": "database",
    "SchemaError": "migrate",
    "SchemaMissingError": "migrate",
    "SchemaOutdatedError": "migrate",
    "SchemaTooNewError": "migrate",
    "check_schema_compatible": "migrate",
    "upgrade": "migrate",
    "acknowledge_alert": "repository",
    "feature_trend": "repository",
    "get_run": "repository",
    "latest_status": "repository",
    "load_reference_profile": "repository",
    "monitor_history": "repository",
    "open_alerts": "repository",
    "record_retrain_event": "repository",
    "resolve_alert": "repository",
    "run_drifted_features": "repository",
    "store_reference_profile": "repository",
    "upsert_alert": "repository",
    "write_run": "repository",
    "RetentionPolicy": "retention",
    "RetentionResult": "retention",
    "apply_retention": "retention",
    "AlertRow": "types",
    "AlertState": "types",
    "DistributionRow": "types",
    "DriftResultRow": "types",
    "DriftType": "types",
    "FeaturePoint": "types",
    "PerformanceRow": "types",
    "QualityRow": "types",
    "ReferenceProfile": "types",
    "RetrainDecision": "types",
    "RetrainEventRow": "types",
    "RunOutcome": "types",
    "RunRecord": "types",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AlertRow",
    "AlertState",
    "DatabaseAuthenticationError",
    "DatabaseConfigError",
    "DatabaseOperationError",
    "DatabasePermissionError",
    "DatabaseUnreachableError",
    "DistributionRow",
    "DriftResultRow",
    "DriftType",
    "FeaturePoint",
    "PerformanceRow",
    "QualityRow",
    "ReferenceProfile",
    "RetentionPolicy",
    "RetentionResult",
    "RetrainDecision",
    "RetrainEventRow",
    "RunOutcome",
    "RunRecord",
    "SchemaError",
    "SchemaMissingError",
    "SchemaOutdatedError",
    "SchemaTooNewError",
    "StorageError",
    "acknowledge_alert",
    "apply_retention",
    "check_schema_compatible",
    "create_engine",
    "feature_trend",
    "get_run",
    "latest_status",
    "load_reference_profile",
    "mask_url",
    "monitor_history",
    "open_alerts",
    "record_retrain_event",
    "redact",
    "resolve_alert",
    "resolve_database_url",
    "run_drifted_features",
    "store_reference_profile",
    "upgrade",
    "upsert_alert",
    "write_run",
]
