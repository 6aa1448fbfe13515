"""kopf configured for production: nothing of kopf's in annotations, watches that cannot
stall silently, bounded concurrency, server-side selectors on the watches of our children."""

from __future__ import annotations

import kopf

from driftwarden.operator.handlers.settings import Tuning, operator_settings
from driftwarden.operator.reconcile.naming import LABEL_MANAGED_BY, MANAGED_BY


def test_state_lives_in_declared_status_fields_and_our_prefix() -> None:
    settings = operator_settings(Tuning(), "driftwarden-operator-0")
    assert settings.persistence.finalizer == "driftwarden.io/finalizer"
    progress = settings.persistence.progress_storage
    diffbase = settings.persistence.diffbase_storage
    assert isinstance(progress, kopf.StatusProgressStorage)
    assert isinstance(diffbase, kopf.StatusDiffBaseStorage)
    assert progress.field == ("status", "operatorState", "progress")
    assert diffbase.field == ("status", "operatorState", "lastHandledConfiguration")


def test_watches_time_out_and_concurrency_is_bounded() -> None:
    settings = operator_settings(Tuning(workers=3), "pod-a")
    assert settings.watching.inactivity_timeout == 70
    assert isinstance(settings.watching.server_timeout, int)  # sent as timeoutSeconds
    assert settings.watching.connect_timeout is not None
    assert settings.networking.request_timeout is not None
    assert settings.execution.executor._max_workers == 3  # type: ignore[attr-defined]
    assert settings.queueing.worker_limit is not None
    assert settings.posting.reporting_instance == "pod-a"


def test_children_are_watched_with_a_server_side_label_selector() -> None:
    from kopf._cogs.structs.references import Resource

    selectors = operator_settings(Tuning(), "x").watching.label_selectors
    ours = f"{LABEL_MANAGED_BY}={MANAGED_BY}"
    for resource in (
        Resource("batch", "v1", "jobs"),
        Resource("batch", "v1", "cronjobs"),
        Resource("", "v1", "pods"),
    ):
        assert list(selectors.collect(resource)) == [ours]
    assert list(selectors.collect(Resource("driftwarden.io", "v1alpha1", "modelmonitors"))) == []


def test_watch_restarts_back_off_and_never_stop() -> None:
    from driftwarden.operator.handlers.settings import RESTART_BACKOFF, restart_delay

    delays = [restart_delay(n) for n in range(1, len(RESTART_BACKOFF) + 3)]
    assert delays == sorted(delays)  # never shorter after another failure
    assert delays[0] <= 1.0  # the first restart is quick: a 410 is routine
    assert delays[-1] == delays[-2] == RESTART_BACKOFF[-1]  # capped, never given up


def test_a_failed_watch_raises_the_error_the_supervisor_catches() -> None:
    # kopf raises an HTTP error of a watch request out of `kopf.operator` as this class;
    # `main._kopf_operator` restarts the watches on it (a kopf upgrade that moves it fails here).
    from kopf._cogs.clients import errors

    from driftwarden.operator.handlers.main import KopfAPIError

    assert KopfAPIError is errors.APIError
    assert issubclass(errors.APIClientError, KopfAPIError)
