"""Names of the per-namespace results-database credentials the operator manages.

With `--manage-tenant-credentials` the operator keeps one Secret of this fixed name in every
namespace that has ModelMonitors: a PostgreSQL role limited by row-level security to that
namespace's rows (`driftwarden.detectors.storage.tenancy`). The name is fixed so that the
operator's RBAC can name it (`resourceNames`): it may read, watch, change and delete that
Secret and no other.
"""

from __future__ import annotations

from typing import Final

TENANT_SECRET_NAME: Final = "driftwarden-tenant-results"
"""The Secret in each namespace with monitors; the detector Pods read its `url` key."""
TENANT_SECRET_KEY: Final = "url"
TENANT_COMPONENT: Final = "tenant-credentials"
"""Its `app.kubernetes.io/component` label (with `managed-by: driftwarden-operator`)."""

ANNOTATION_ROTATE: Final = "driftwarden.io/rotate"
"""Set to any new value on the Secret to get a new password (one rotation per value)."""
ANNOTATION_ROTATED: Final = "driftwarden.io/rotated"
"""The last `driftwarden.io/rotate` value acted on (written by the operator)."""
ANNOTATION_ISSUED_AT: Final = "driftwarden.io/credentials-issued-at"
"""When the role got the password the Secret holds (the database records the same instant)."""
ANNOTATION_DATABASE: Final = "driftwarden.io/results-database"
"""A digest of the results database's host, port and name the Secret points at."""

REASON_ISSUED: Final = "TenantCredentialsIssued"
REASON_ROTATED: Final = "TenantCredentialsRotated"
REASON_REMOVED: Final = "TenantCredentialsRemoved"
REASON_REFUSED: Final = "TenantSecretConflict"
