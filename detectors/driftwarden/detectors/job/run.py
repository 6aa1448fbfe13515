"""`driftwarden run`: one detector run of one monitor, as a Kubernetes Job runs it.

Steps: read the run configuration (refusing a newer format), check the results database's
schema, resolve both windows against the scheduled time, stream each window from the source
into a profile (a stored baseline is loaded instead of read), mask labels that had no time to
arrive, compare, write the run and everything it produced in one transaction (idempotent by
run id), and write the compact summary to the termination-message file.

Every failure ends in one `FailureReason`, an exit code from the one table in
`driftwarden.detectors.errors`, one line on stderr and a summary; no message carries a
password (the errors are redacted where they are raised, and once more here).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import URL, Engine

from driftwarden.detectors import __version__
from driftwarden.detectors.argtypes import MAX_CHUNK_ROWS, integer_in
from driftwarden.detectors.config import DetectionSpec, parse_duration
from driftwarden.detectors.distributions import run_overlays
from driftwarden.detectors.engine import (
    DetectionInputError,
    ResolvedFeature,
    compare,
    profile_frames,
    resolve_features,
)
from driftwarden.detectors.errors import DriftwardenError, ExitCode, InputError, TransientError
from driftwarden.detectors.hints import hint
from driftwarden.detectors.history import (
    distribution_rows,
    drift_rows,
    performance_rows,
    quality_rows,
    run_record,
)
from driftwarden.detectors.job.contract import (
    ENV_DATABASE_URL,
    ENV_RUN_ID,
    ENV_SCHEDULED_TIME,
    ENV_SOURCE_URL,
    ENV_SUMMARY_PATH,
    SCHEDULED_FROM_JOB_NAME,
    InvalidRunConfigError,
    RunConfig,
    RunSummary,
    WindowRows,
    load_run_config,
)
from driftwarden.detectors.job.summary import evaluated_summary
from driftwarden.detectors.outcome import FailureReason, RunOutcome
from driftwarden.detectors.profile import (
    ArrowChunk,
    Chunk,
    NumericProfile,
    ProfileFormatError,
    WindowProfile,
    as_frame,
    dumps,
    loads,
)
from driftwarden.detectors.redaction import INVALID_URL, parse_url, redact
from driftwarden.detectors.sources import (
    DEFAULT_CHUNK_ROWS,
    AuthenticationFailedError,
    ColumnNotFoundError,
    FileSource,
    InvalidNameError,
    InvalidSourceUrlError,
    QueryTimeoutError,
    Source,
    SourceError,
    SourceUnreachableError,
    SqlSource,
    TableNotFoundError,
    TimeWindow,
)
from driftwarden.detectors.storage import (
    DatabaseAuthenticationError,
    DatabaseConfigError,
    DatabasePermissionError,
    ReferenceProfile,
    RunRecord,
    StorageError,
    check_schema_compatible,
    create_engine,
    get_run,
    load_reference_profile,
    resolve_database_url,
    store_reference_profile,
    write_run,
)
from driftwarden.detectors.storage.database import database_url_from
from driftwarden.detectors.storage.names import recent_run_ids, reference_profile_names
from driftwarden.detectors.storage.repository import DEFAULT_BATCH_ROWS, ProgressHook

CONNECT_TIMEOUT_S = 10
#: The most of a run id a message repeats (a Kubernetes name has at most 253 characters).
SHOWN_RUN_ID = 253
#: Set (to anything) to add the traceback of an internal error to stderr.
DEBUG_ENV = "DRIFTWARDEN_DEBUG"


@dataclass(frozen=True)
class RunOptions:
    """Everything one run needs besides the configuration file's content."""

    config_path: Path
    run_id: str | None
    scheduled_at: datetime | None
    summary_path: Path | None
    source_url: str | None
    database_url: str | None
    statement_timeout: timedelta = timedelta(minutes=10)
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    write_batch_rows: int = DEFAULT_BATCH_ROWS

    @classmethod
    def from_args(cls, args: argparse.Namespace, env: Mapping[str, str]) -> RunOptions:
        scheduled = args.scheduled_time or env.get(ENV_SCHEDULED_TIME) or None
        summary = args.summary_path or env.get(ENV_SUMMARY_PATH) or None
        try:
            timeout = parse_duration(args.statement_timeout)
        except ValueError as exc:
            raise InvalidRunConfigError(f"--statement-timeout: {exc}") from None
        if timeout <= timedelta():
            raise InvalidRunConfigError("--statement-timeout must be positive")
        return cls(
            config_path=args.config,
            run_id=args.run_id or env.get(ENV_RUN_ID) or None,
            scheduled_at=None if scheduled is None else parse_scheduled_time(scheduled),
            summary_path=None if summary is None else Path(summary),
            source_url=env.get(ENV_SOURCE_URL) or None,
            database_url=env.get(ENV_DATABASE_URL) or None,
            statement_timeout=timeout,
            chunk_rows=chunk_rows_option(args.chunk_rows),
        )


def chunk_rows_option(value: int | str) -> int:
    """`--chunk-rows` as an integer in [1, MAX_CHUNK_ROWS] (as `detect` takes it), else
    InvalidRunConfigError (exit 2, the summary written)."""
    try:
        return integer_in(str(value), 1, MAX_CHUNK_ROWS)
    except ValueError as exc:
        raise InvalidRunConfigError(f"--chunk-rows: {exc}") from None


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    summary: RunSummary


def parse_scheduled_time(text: str) -> datetime:
    """RFC 3339 (the CronJob's annotation), Unix seconds, or `cronjob-job:<Job name>`;
    always timezone-aware.

    A Pod cannot read its Job's annotations through the downward API, so the operator's
    CronJob passes `cronjob-job:$(DRIFTWARDEN_RUN_ID)`: the CronJob controller names each
    Job `<cronjob>-<scheduled time in Unix minutes>`, the same instant as the Job's
    `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation.
    """
    value = text.strip()
    if value.startswith(SCHEDULED_FROM_JOB_NAME):
        minutes = value.removeprefix(SCHEDULED_FROM_JOB_NAME).rpartition("-")[2]
        if not minutes.isdigit():
            raise InvalidRunConfigError(
                f"scheduled time {text!r}: the Job name does not end with -<Unix minutes>"
            )
        try:
            return datetime.fromtimestamp(int(minutes) * 60, tz=UTC)
        except (ValueError, OverflowError):
            raise InvalidRunConfigError(f"scheduled time {text!r} is out of range") from None
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), tz=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise InvalidRunConfigError(
            f"scheduled time {text!r} is neither RFC 3339 nor Unix seconds"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidRunConfigError(f"scheduled time {text!r} needs a time zone, e.g. Z")
    return parsed


# --- the command ---------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    try:
        options = RunOptions.from_args(args, os.environ)
    except DriftwardenError as exc:
        summary_path = args.summary_path or os.environ.get(ENV_SUMMARY_PATH)
        result = _failed(exc, run_id=args.run_id or os.environ.get(ENV_RUN_ID), started=started)
        _finish(result, None if summary_path is None else Path(summary_path), ())
        return result.exit_code
    if args.from_run is not None and not args.store_baseline:
        # once ignored: a run that read today's baseline window, not the pinned one
        refused = InvalidRunConfigError("--from-run needs --store-baseline NAME")
        print(f"driftwarden: error: {failure_reason(refused)}: {refused}", file=sys.stderr)
        return _exit_code(refused)
    if args.store_baseline:
        secrets = tuple(_password(url) for url in (options.source_url, options.database_url))
        try:
            stored = store_baseline(options, args.store_baseline, from_run=args.from_run)
        except DriftwardenError as exc:
            message = redact(" ".join(str(exc).split()), secrets)
            print(f"driftwarden: error: {failure_reason(exc)}: {message}", file=sys.stderr)
            return _exit_code(exc)
        print(
            f"stored baseline {stored.name!r} in namespace {stored.namespace!r}: "
            f"{stored.rows} rows, profile {stored.profile_hash[:16]}"
        )
        return int(ExitCode.OK)
    return execute(options).exit_code


def store_profile_from_args(
    args: argparse.Namespace, profile: WindowProfile, spec: DetectionSpec
) -> str:
    # Storage's messages show URLs masked (mask_url) and driver errors redacted.
    url = args.database_url or os.environ.get(ENV_DATABASE_URL)
    name = "--database-url" if args.database_url else ENV_DATABASE_URL
    if not url:  # from the command line, the database `db` and `history` use (PG*, SQLite)
        url = resolve_database_url().render_as_string(hide_password=False)
    stored = store_profile(
        profile,
        spec,
        name=args.store,
        namespace=args.namespace,
        database_url=url,
        database_url_name=name,
    )
    return (
        f"stored baseline {stored.name!r} in namespace {stored.namespace!r}: "
        f"{stored.rows} rows, profile {stored.profile_hash[:16]}"
    )


def store_profile(
    profile: WindowProfile,
    spec: DetectionSpec,
    *,
    name: str,
    namespace: str,
    database_url: str | None,
    database_url_name: str = ENV_DATABASE_URL,
) -> ReferenceProfile:
    """Store a profile made elsewhere (`driftwarden profile --store NAME`) as a baseline.
    `database_url_name` names where the URL came from in a refusal (an option, a variable)."""
    if not name or len(name) > 253:
        raise InputError("a stored baseline's name has 1 to 253 characters")
    results = _results_engine(database_url, database_url_name)
    try:
        check_schema_compatible(results)
        stored = ReferenceProfile(
            namespace=namespace,
            name=name,
            created_at=datetime.now(UTC),
            profile=dumps(profile),
            profile_hash=profile_digest(profile),
            rows=profile.rows,
            settings_hash=settings_hash(effective_settings(spec)),
            detector_version=__version__,
        )
        store_reference_profile(results, stored)
        return stored
    finally:
        results.dispose()


def store_baseline(
    options: RunOptions, name: str, *, from_run: str | None = None
) -> ReferenceProfile:
    """Profile the configuration's baseline window exactly as a run does and store it in
    `reference_profiles` under the monitor's namespace and `name` (replacing one there).

    `from_run` pins the baseline of a past run: its recorded window is read again and must
    give the profile digest that run recorded (else the source's rows changed since)."""
    config = load_run_config(options.config_path).config
    spec = config.spec
    detection = spec.detection
    baseline = spec.baseline.window()
    if baseline is None:
        raise InvalidRunConfigError("the baseline is already a stored profile; nothing to read")
    run_time = options.scheduled_at or datetime.now(UTC)
    window = TimeWindow.from_spec(baseline, run_time)
    _check_source_url(config, options)
    results = _results_engine(options.database_url)
    try:
        check_schema_compatible(results)
        expected: str | None = None
        if from_run is not None:
            past = get_run(results, from_run)
            if past is None or past.monitor_namespace != config.metadata.namespace:
                raise _unknown_run(results, from_run, config.metadata.namespace)
            if past.baseline_start is None or past.baseline_end is None:
                raise InvalidRunConfigError(f"run {from_run!r} recorded no baseline window")
            window = TimeWindow(past.baseline_start, past.baseline_end)
            expected = past.baseline_profile_hash
            if past.scheduled_at is not None:
                run_time = past.scheduled_at
        with _source(config, options) as source:
            columns = _columns(detection)
            chunks = _prepared(
                source.iter_profile_chunks(
                    window,
                    _read_columns(detection, columns, source.timestamp_column),
                    chunk_rows=options.chunk_rows,
                ),
                detection,
                source.timestamp_column,
                _label_cutoff(detection, run_time),
                _Counts(),
                columns,
            )
            first = next(chunks, None)
            if first is None:
                raise DetectionInputError(
                    f"the baseline window {window.start.isoformat()} .. "
                    f"{window.end.isoformat()} has no rows"
                )
            features = resolve_features(detection, as_frame(first))
            profile = profile_frames(chain([first], chunks), detection, features)
        digest = profile_digest(profile)
        if expected is not None and digest != expected:
            raise DetectionInputError(
                f"the baseline window of run {from_run!r} no longer gives the profile that run "
                "used (the source's rows changed); not pinned"
            )
        stored = ReferenceProfile(
            namespace=config.metadata.namespace,
            name=name,
            created_at=datetime.now(UTC),
            profile=dumps(profile),
            profile_hash=digest,
            rows=profile.rows,
            settings_hash=settings_hash(effective_settings(detection)),
            detector_version=__version__,
            source_run_id=from_run,
        )
        store_reference_profile(results, stored)
        return stored
    finally:
        results.dispose()


def _unknown_run(results: Engine, run_id: str, namespace: str) -> InvalidRunConfigError:
    """`--from-run RUN_ID` names no run of the namespace: the closest of its newest runs
    (a bounded query; runs of other namespaces are neither offered nor confirmed)."""
    known = recent_run_ids(results, namespace=namespace)
    return InvalidRunConfigError(
        f"run {run_id[:SHOWN_RUN_ID]!r} not found in namespace {namespace!r}"
        f"{hint(run_id, known, 'newest runs')}"
    )


def execute(
    options: RunOptions,
    *,
    write_progress: ProgressHook | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunResult:
    """One run; never raises for a failure of the run itself (see the module docstring)."""
    started = clock()
    secrets = tuple(_password(url) for url in (options.source_url, options.database_url))
    try:
        summary = _run(options, started, clock, write_progress)
        result = RunResult(int(ExitCode.OK), summary)
    except DriftwardenError as exc:
        result = _failed(exc, run_id=options.run_id, started=started, secrets=secrets)
    except Exception as exc:  # a bug of ours: one line, exit 4
        if os.environ.get(DEBUG_ENV):  # debug only adds the traceback: same code, summary
            traceback.print_exc(file=sys.stderr)
        internal = DriftwardenError(f"internal error ({type(exc).__name__}); please report it")
        result = _failed(internal, run_id=options.run_id, started=started, secrets=secrets)
    _finish(result, options.summary_path, secrets)
    return result


def failure_reason(error: BaseException) -> FailureReason:
    """The one reason the operator shows for an error."""
    match error:
        case InvalidRunConfigError() | InvalidNameError() | InvalidSourceUrlError():
            return FailureReason.INVALID_RUN_CONFIG
        case AuthenticationFailedError():
            return FailureReason.AUTHENTICATION_FAILED
        case TableNotFoundError():
            return FailureReason.TABLE_NOT_FOUND
        case ColumnNotFoundError():
            return FailureReason.COLUMN_NOT_FOUND
        case QueryTimeoutError():
            return FailureReason.TIMEOUT
        case SourceUnreachableError():
            return FailureReason.SOURCE_UNREACHABLE
        case DatabaseConfigError():  # the URL is malformed or names another database
            return FailureReason.INVALID_RUN_CONFIG
        case DatabasePermissionError() | DatabaseAuthenticationError():
            # the results database refused the login, or the namespace's role these rows
            return FailureReason.AUTHENTICATION_FAILED
        case StorageError():
            return FailureReason.RESULTS_DATABASE_UNAVAILABLE
        case SourceError() if not isinstance(error, InputError):
            return FailureReason.SOURCE_UNREACHABLE
        case InputError():
            return FailureReason.INVALID_INPUT
        case _:
            return FailureReason.INTERNAL


def _exit_code(error: DriftwardenError) -> int:
    if isinstance(error, InputError | TransientError):
        return int(error.exit_code)
    if isinstance(error, SourceError):  # a read that failed half-way: worth a retry
        return int(ExitCode.TRANSIENT)
    return int(ExitCode.INTERNAL)


def _failed(
    error: DriftwardenError,
    *,
    run_id: str | None,
    started: datetime,
    secrets: Sequence[str | None] = (),
) -> RunResult:
    reason = failure_reason(error)
    code = _exit_code(error)
    message = redact(" ".join(str(error).split()), secrets)
    summary = RunSummary(
        run_id=(run_id or "unknown")[:253],
        started_at=started,
        finished_at=datetime.now(UTC),
        outcome=RunOutcome.INVALID_INPUT if code == ExitCode.INVALID_INPUT else RunOutcome.FAILED,
        reason=reason,
        message=f"{reason}: {message}"[:1024],
    )
    return RunResult(code, summary)


def _finish(result: RunResult, summary_path: Path | None, secrets: Sequence[str | None]) -> None:
    text = redact(result.summary.to_termination_message(), secrets)
    if summary_path is not None:
        try:
            summary_path.write_text(text)
        except OSError as exc:
            print(
                f"driftwarden: cannot write the summary to {summary_path}: {exc.strerror}",
                file=sys.stderr,
            )
    summary = result.summary
    if result.exit_code == ExitCode.OK:
        print(f"run {summary.run_id}: {summary.outcome}: {summary.message}")
    else:
        print(f"driftwarden: error: {summary.message}", file=sys.stderr)


def _password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        password = parse_url(url).password
    except ValueError:  # an unparseable URL is reported where it is used
        return None
    return password if isinstance(password, str) else None


# --- one run -----------------------------------------------------------------------------


@dataclass
class _Counts:
    rows: int = 0
    labelled: int = 0


def _run(
    options: RunOptions,
    started: datetime,
    clock: Callable[[], datetime],
    write_progress: ProgressHook | None,
) -> RunSummary:
    loaded = load_run_config(options.config_path)
    config = loaded.config
    if not options.run_id:
        raise InvalidRunConfigError(f"no run id: set {ENV_RUN_ID} or pass --run-id")
    if len(options.run_id) > 253:
        raise InvalidRunConfigError("the run id is longer than 253 characters")
    run_id = options.run_id
    spec = config.spec
    detection = spec.detection
    run_time = options.scheduled_at or started
    _check_source_url(config, options)  # a malformed URL is refused before any connection
    results = _results_engine(options.database_url)
    try:
        check_schema_compatible(results)
        current_window = TimeWindow.from_spec(spec.current, run_time)
        baseline_spec = spec.baseline.window()
        baseline_window = (
            None if baseline_spec is None else TimeWindow.from_spec(baseline_spec, run_time)
        )
        with _source(config, options) as source:
            columns = _columns(detection)
            read_columns = _read_columns(detection, columns, source.timestamp_column)
            cutoff = _label_cutoff(detection, run_time)
            b_counts, c_counts = _Counts(), _Counts()
            stored_name: str | None = None

            def window_chunks(window: TimeWindow, counts: _Counts) -> Iterator[Chunk]:
                chunks = source.iter_profile_chunks(
                    window, read_columns, chunk_rows=options.chunk_rows
                )
                return _prepared(
                    chunks, detection, source.timestamp_column, cutoff, counts, columns
                )

            def insufficient(baseline_rows: int, current_rows: int) -> RunSummary:
                return _insufficient(
                    options,
                    loaded.spec_hash,
                    config,
                    run_time,
                    started,
                    clock,
                    results,
                    baseline_window,
                    current_window,
                    baseline_rows,
                    current_rows,
                    write_progress,
                )

            current_chunks = window_chunks(current_window, c_counts)
            if spec.baseline.profile_ref is not None:
                stored_name = spec.baseline.profile_ref.name
                baseline_profile = _stored_profile(results, config, stored_name)
                b_counts = _Counts(
                    baseline_profile.rows, _labelled_in_profile(detection, baseline_profile)
                )
                first = next(current_chunks, None)
                if first is None:
                    return insufficient(baseline_profile.rows, 0)
                features = _features_for_profile(detection, as_frame(first), baseline_profile)
            else:
                assert baseline_window is not None
                baseline_chunks = window_chunks(baseline_window, b_counts)
                baseline_first = next(baseline_chunks, None)
                if baseline_first is None:
                    for _ in current_chunks:  # count the current rows for the record
                        pass
                    return insufficient(0, c_counts.rows)
                features = resolve_features(detection, as_frame(baseline_first))
                baseline_profile = profile_frames(
                    chain([baseline_first], baseline_chunks), detection, features
                )
                first = next(current_chunks, None)
                if first is None:
                    return insufficient(b_counts.rows, 0)
            current_profile = profile_frames(
                chain([first], current_chunks), detection, features, seed=10_000
            )
        report = compare(detection, features, baseline_profile, current_profile)
        finished = clock()
        labelled = (
            WindowRows(baseline=b_counts.labelled, current=c_counts.labelled)
            if detection.labels is not None
            else None
        )
        record = dataclasses.replace(
            run_record(
                report,
                run_id=run_id,
                monitor_namespace=config.metadata.namespace,
                monitor_name=config.metadata.name,
                started_at=started,
                finished_at=finished,
                model_name=spec.model.name,
                model_version=spec.model.version,
                monitor_uid=config.metadata.uid,
                scheduled_at=options.scheduled_at,
            ),
            **_record_fields(detection, loaded.spec_hash, baseline_window, current_window),
            failure_reason=None if report.status == "ok" else str(FailureReason.INSUFFICIENT_DATA),
            baseline_profile_hash=profile_digest(baseline_profile),
            baseline_profile_name=stored_name,
            baseline_labelled_rows=None if labelled is None else labelled.baseline,
            current_labelled_rows=None if labelled is None else labelled.current,
        )
        write_run(
            results,
            record,
            drift_rows(report),
            performance_rows(report),
            quality=quality_rows(report),
            distributions=distribution_rows(
                run_overlays(report, detection, baseline_profile, current_profile)
            ),
            batch_rows=options.write_batch_rows,
            progress=write_progress,
        )
        return evaluated_summary(
            report,
            run_id=run_id,
            model_version=spec.model.version,
            scheduled_at=options.scheduled_at,
            started_at=started,
            finished_at=finished,
            labelled=labelled,
        )
    finally:
        results.dispose()


def _results_engine(url: str | None, name: str = ENV_DATABASE_URL) -> Engine:
    if not url:
        raise InvalidRunConfigError(f"no results database: set {ENV_DATABASE_URL}")
    # postgres:// and postgresql:// mean psycopg2, as everywhere in driftwarden; raises
    # DatabaseConfigError naming `name` (where the URL came from), never the URL, when it
    # is malformed or names another database.
    parsed = database_url_from(url, name)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    return create_engine(parsed)


#: The source schemes a run reads (the CRD's source is Postgres).
SOURCE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")


def _source_url(url: str) -> URL:
    """The source's URL; InvalidRunConfigError naming the variable (never the value) when
    it does not parse or names another database than PostgreSQL."""
    try:
        parsed = parse_url(url.strip())
    except ValueError:
        raise InvalidRunConfigError(
            f"{ENV_SOURCE_URL} is {INVALID_URL}; expected "
            "postgresql://user:password@host:5432/database"
        ) from None
    if parsed.drivername not in SOURCE_SCHEMES:
        scheme = parsed.drivername
        shown = scheme if scheme.replace("+", "").replace("_", "").isalnum() else "?"
        raise InvalidRunConfigError(
            f"{ENV_SOURCE_URL}: unsupported database URL scheme {shown[:40]!r}: use postgresql://"
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidRunConfigError(
            f"{ENV_SOURCE_URL}: port {parsed.port} is out of range (1-65535)"
        )
    return parsed.set(drivername="postgresql+psycopg2")


def _check_source_url(config: RunConfig, options: RunOptions) -> None:
    if config.spec.source.postgres is not None and options.source_url:
        _source_url(options.source_url)


def _source(config: RunConfig, options: RunOptions) -> Source:
    source = config.spec.source
    if source.postgres is not None:
        if not options.source_url:
            raise InvalidRunConfigError(f"the source is Postgres but {ENV_SOURCE_URL} is not set")
        pg = source.postgres
        table = f"{pg.db_schema}.{pg.table}" if pg.db_schema else pg.table
        return SqlSource(
            _source_url(options.source_url),
            table,
            pg.timestamp_column,
            filters=dict(pg.filters),
            statement_timeout=options.statement_timeout,
            connect_timeout_s=CONNECT_TIMEOUT_S,
            chunk_rows=options.chunk_rows,
        )
    assert source.files is not None
    files = source.files
    return FileSource(
        files.path,
        files.timestamp_column,
        file_format=files.format,  # type: ignore[arg-type]
        chunk_rows=options.chunk_rows,
    )


def _columns(spec: DetectionSpec) -> list[str]:
    """Every column a run reads besides the timestamp: features, then the reserved ones."""
    names = [f.name for f in spec.features]
    if spec.prediction is not None:
        names.append(spec.prediction.column)
    if spec.labels is not None:
        names.append(spec.labels.column)
    if spec.operational is not None:
        names += [c for c in (spec.operational.latency_column, spec.operational.error_column) if c]
    return list(dict.fromkeys(names))


def _read_columns(spec: DetectionSpec, columns: list[str], timestamp: str) -> list[str]:
    if spec.labels is not None and spec.labels.delay and timestamp not in columns:
        return [*columns, timestamp]
    return columns


def _label_cutoff(spec: DetectionSpec, run_time: datetime) -> datetime | None:
    """Labels of rows at or after this time have not had `labels.delay` to arrive."""
    if spec.labels is None or not spec.labels.delay:
        return None
    return run_time - parse_duration(spec.labels.delay)


def _prepared(
    chunks: Iterable[Chunk],
    spec: DetectionSpec,
    timestamp: str,
    cutoff: datetime | None,
    counts: _Counts,
    columns: list[str],
) -> Iterator[Chunk]:
    """Chunks with unarrived labels masked, counted, and only the profiled columns kept.

    An Arrow chunk stays Arrow unless it has labels to mask (that chunk is masked as a
    pandas frame, as before); its timestamp and label columns are read through pandas, so
    late rows and labelled rows are counted exactly as in a frame."""
    label = spec.labels.column if spec.labels is not None else None
    for chunk in chunks:
        if isinstance(chunk, ArrowChunk):
            if label is not None and cutoff is not None:
                stamps = chunk.to_frame(chunk.table.select([timestamp]), None)[timestamp]
                times = pd.to_datetime(stamps, utc=True)
                if (times >= pd.Timestamp(cutoff).tz_convert(UTC)).to_numpy().any():
                    chunk = chunk.frame()  # masked below, as a frame
            if isinstance(chunk, ArrowChunk):
                counts.rows += chunk.num_rows
                if label is not None:
                    labels = chunk.to_frame(chunk.table.select([label]), None)[label]
                    counts.labelled += int(labels.notna().sum())
                if chunk.table.column_names != columns:
                    chunk = dataclasses.replace(chunk, table=chunk.table.select(columns))
                yield chunk
                continue
        if label is not None and cutoff is not None:
            times = pd.to_datetime(chunk[timestamp], utc=True)
            late = (times >= pd.Timestamp(cutoff).tz_convert(UTC)).to_numpy()
            if late.any():
                chunk = chunk.copy()
                values = chunk[label].astype(object)
                values[late] = None
                chunk[label] = values
        counts.rows += len(chunk)
        if label is not None:
            counts.labelled += int(chunk[label].notna().sum())
        yield chunk[columns] if list(chunk.columns) != columns else chunk


def _labelled_in_profile(spec: DetectionSpec, profile: WindowProfile) -> int:
    if spec.labels is None:
        return 0
    column = profile.columns.get(spec.labels.column)
    if column is not None and isinstance(column, NumericProfile):
        return column.count
    sample = profile.row_sample
    if spec.labels.column in sample.columns:
        return int(sample[spec.labels.column].notna().sum())
    return 0


def _stored_profile(engine: Engine, config: RunConfig, name: str) -> WindowProfile:
    stored = load_reference_profile(engine, config.metadata.namespace, name)
    if stored is None:
        known = reference_profile_names(engine, config.metadata.namespace)
        raise InvalidRunConfigError(
            f"stored baseline {name!r} not found in namespace {config.metadata.namespace!r}"
            f"{hint(name, known, 'stored baselines')}"
        )
    try:
        return loads(stored.profile)
    except ProfileFormatError as exc:
        raise InvalidRunConfigError(f"stored baseline {name!r}: {exc}") from None


def _features_for_profile(
    spec: DetectionSpec, head: pd.DataFrame, profile: WindowProfile
) -> list[ResolvedFeature]:
    features = resolve_features(spec, head, stored=profile)
    for feature in features:
        stored = profile.columns.get(feature.name)
        if stored is None:
            raise DetectionInputError(
                f"feature {feature.name!r} is not in the stored baseline"
                f"{hint(feature.name, sorted(profile.columns), 'columns')}"
            )
        stored_kind = "numeric" if isinstance(stored, NumericProfile) else "categorical"
        if stored_kind != str(feature.kind):
            raise DetectionInputError(
                f"feature {feature.name!r} is {feature.kind} here but {stored_kind} in the "
                "stored baseline"
            )
    return features


def _record_fields(
    spec: DetectionSpec,
    spec_hash: str,
    baseline: TimeWindow | None,
    current: TimeWindow,
) -> dict[str, Any]:
    settings = effective_settings(spec)
    return {
        "spec_hash": spec_hash,
        "settings": settings,
        "settings_hash": settings_hash(settings),
        "baseline_start": None if baseline is None else baseline.start,
        "baseline_end": None if baseline is None else baseline.end,
        "current_start": current.start,
        "current_end": current.end,
        "detector_version": __version__,
    }


def effective_settings(spec: DetectionSpec) -> dict[str, object]:
    """The detection settings with every default filled in (as JSON)."""
    return spec.model_dump(mode="json", by_alias=True)


def settings_hash(settings: Mapping[str, object]) -> str:
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def profile_digest(profile: WindowProfile) -> str:
    """SHA-256 of what a profile holds (values, weights, counts, row sample), not of its
    serialised bytes: the same profile has the same digest whether read or stored."""
    digest = hashlib.sha256()
    digest.update(f"rows={profile.rows};max_points={profile.max_points}".encode())
    for name in sorted(profile.columns):
        column = profile.columns[name]
        digest.update(b"\x00" + name.encode())
        if isinstance(column, NumericProfile):
            header = (column.count, column.missing, column.type_errors)
            digest.update(repr(header).encode())
            digest.update(np.ascontiguousarray(column.values, dtype=np.float64).tobytes())
            if column.weights is not None:
                digest.update(np.ascontiguousarray(column.weights, dtype=np.float64).tobytes())
        else:
            digest.update(
                json.dumps(sorted(map(list, column.counts.items())), default=str).encode()
            )
            digest.update(str(column.missing).encode())
    sample = profile.row_sample
    if len(sample.columns):
        # As the profile file stores it: numbers as float64, everything else as text.
        canonical = pd.DataFrame(
            {
                str(name): (
                    sample[name].to_numpy(dtype=np.float64)
                    if sample[name].dtype.kind in "fiub"
                    else [None if pd.isna(v) else str(v) for v in sample[name].tolist()]
                )
                for name in sample.columns
            }
        )
        hashed = pd.util.hash_pandas_object(canonical, index=False).to_numpy()
        digest.update(hashed.tobytes())
    return digest.hexdigest()


def _insufficient(
    options: RunOptions,
    spec_hash: str,
    config: RunConfig,
    run_time: datetime,
    started: datetime,
    clock: Callable[[], datetime],
    results: Engine,
    baseline: TimeWindow | None,
    current: TimeWindow,
    baseline_rows: int,
    current_rows: int,
    write_progress: ProgressHook | None,
) -> RunSummary:
    """A window without rows: recorded as a run with outcome InsufficientData (exit 0)."""
    assert options.run_id is not None
    finished = clock()
    empty = "baseline" if baseline_rows == 0 else "current"
    window = baseline if empty == "baseline" and baseline is not None else current
    message = (
        f"the {empty} window has no rows between {window.start.isoformat()} and "
        f"{window.end.isoformat()}"
    )
    record = RunRecord(
        run_id=options.run_id,
        monitor_namespace=config.metadata.namespace,
        monitor_name=config.metadata.name,
        monitor_uid=config.metadata.uid,
        model_name=config.spec.model.name,
        model_version=config.spec.model.version,
        scheduled_at=options.scheduled_at,
        started_at=started,
        finished_at=finished,
        outcome=RunOutcome.INSUFFICIENT_DATA,
        error_reason=message,
        baseline_rows=baseline_rows,
        current_rows=current_rows,
        failure_reason=str(FailureReason.INSUFFICIENT_DATA),
        **_record_fields(config.spec.detection, spec_hash, baseline, current),
    )
    write_run(results, record, batch_rows=options.write_batch_rows, progress=write_progress)
    return RunSummary(
        run_id=options.run_id,
        model_version=config.spec.model.version,
        scheduled_at=options.scheduled_at,
        started_at=started,
        finished_at=finished,
        outcome=RunOutcome.INSUFFICIENT_DATA,
        reason=FailureReason.INSUFFICIENT_DATA,
        message=message,
        rows=WindowRows(baseline=baseline_rows, current=current_rows),
        total_features=len(config.spec.detection.features),
    )
