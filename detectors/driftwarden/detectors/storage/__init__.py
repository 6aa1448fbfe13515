"""The history store: SQLAlchemy schema, Alembic migrations, writes, queries, retention.

Typical use by a detector Job::

    engine = create_engine()                 # URL from the environment
    check_schema_compatible(engine)          # refuse a schema newer than this code
    write_run(engine, run, drift_results, performance, alerts)

Independent of `driftwarden.detectors.sources` (import-linter enforces it).
"""

from driftwarden.detectors.storage.database import (
    DatabaseConfigError,
    DatabaseOperationError,
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

__all__ = [
    "AlertRow",
    "AlertState",
    "DatabaseConfigError",
    "DatabaseOperationError",
    "DatabaseUnreachableError",
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
