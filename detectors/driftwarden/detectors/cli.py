"""The `driftwarden` command line.

Exit codes (the one table, `driftwarden.detectors.errors`): 0 the command did its work
(drift or not); 1 `--fail-on` was met; 2 invalid input (missing file, unknown column, empty
window, unreadable format, invalid config); 3 a transient failure (a database unreachable);
4 an internal error. Every error is one line on stderr naming the problem; a traceback is
shown only with `DRIFTWARDEN_DEBUG=1`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from pydantic import ValidationError

from driftwarden.detectors import __version__, configfile, numba_cache
from driftwarden.detectors.argtypes import MAX_CHUNK_ROWS, bounded_int
from driftwarden.detectors.chunks import FILE_CHUNK_ROWS as DEFAULT_CHUNK_ROWS
from driftwarden.detectors.config import (
    DetectionSpec,
    FeatureKind,
    FeatureSpec,
    LabelSpec,
    PredictionSpec,
    PredictionType,
    Severity,
    Task,
)
from driftwarden.detectors.errors import DriftwardenError, ExitCode, InputError
from driftwarden.detectors.job.arguments import add_run_subcommand, add_store_options
from driftwarden.detectors.storage.cli import add_db_subcommands
from driftwarden.detectors.userfiles import write_atomic

if TYPE_CHECKING:
    import pandas as pd

    from driftwarden.detectors.engine import Resolution, ResolvedFeature
    from driftwarden.detectors.profile import Chunk, WindowProfile
    from driftwarden.detectors.report import Report
    from driftwarden.detectors.tables import ColumnType

EXIT_OK = ExitCode.OK
EXIT_FAIL_ON = ExitCode.FAIL_ON
EXIT_BAD_INPUT = ExitCode.INVALID_INPUT
PROFILE_SUFFIX = ".dwprofile"
DEBUG_ENV = "DRIFTWARDEN_DEBUG"
CHUNK_ROWS_HELP = "rows read at a time; more rows, more memory (default: %(default)s)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    numba_cache.seed()  # a Job's fresh pod: the image's compiled kernels, not a compile
    try:
        code: int = args.handler(args)
        return code
    except DriftwardenError as exc:
        _fail(str(exc), exc.exit_code)
    except ValidationError as exc:
        _fail(configfile.validation_message(exc))
    except BrokenPipeError:  # `driftwarden detect ... | head`
        return EXIT_OK
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.TRANSIENT)
    except Exception as exc:
        # A bug of ours, not the user's input: one line and its own exit code, so a pipeline
        # never reads a crash as "drift found" (exit 1) or as bad input (exit 2).
        if os.environ.get(DEBUG_ENV):  # debug only adds the traceback: same exit code
            traceback.print_exc(file=sys.stderr)
        _fail(
            f"internal error ({type(exc).__name__}: {_one_line(str(exc))}); "
            f"please report it (set {DEBUG_ENV}=1 for the traceback)",
            ExitCode.INTERNAL,
        )


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and where to look, not the whole usage block
    above it (a command with a dozen options hid the line that said what was wrong).
    Subcommands' parsers are of this class too (`add_subparsers` uses the parent's type)."""

    def error(self, message: str) -> NoReturn:
        # The message quotes what was typed: a misspelt --database-url option quotes its
        # URL, password and all. (Imported here: only an error pays for SQLAlchemy.)
        from driftwarden.detectors.redaction import redact

        self.exit(
            int(ExitCode.INVALID_INPUT),
            f"{self.prog}: error: {redact(message)} (see `{self.prog} --help`)\n",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="driftwarden", description="Model monitoring: drift, quality and performance."
    )
    parser.add_argument("--version", action="version", version=f"driftwarden {__version__}")
    # Subcommand parsers are _Parser too; the registering functions take plain parsers.
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )

    detect = sub.add_parser(
        "detect",
        help="compare a current window with a baseline (files or a stored profile)",
        description="Compare a current data window with a baseline window.",
    )
    detect.add_argument("--baseline", required=True, type=Path, help="CSV, Parquet or .dwprofile")
    detect.add_argument("--current", required=True, type=Path, help="CSV or Parquet")
    _add_spec_options(detect)
    detect.add_argument(
        "--format",
        choices=("table", "json", "html"),
        default="table",
        help="the report's form (default: %(default)s)",
    )
    detect.add_argument("--output", type=Path, help="write the report here instead of stdout")
    detect.add_argument(
        "--max-plots",
        type=_bounded_int("max-plots"),
        default=200,
        help="--format html: draw the distributions of this many most severe features "
        "(default: %(default)s)",
    )
    detect.add_argument(
        "--fail-on",
        choices=("warning", "critical"),
        help="exit 1 when the run's severity reaches this level (for CI pipelines)",
    )
    detect.add_argument(
        "--chunk-rows",
        type=_bounded_int("chunk-rows"),
        default=DEFAULT_CHUNK_ROWS,
        help=CHUNK_ROWS_HELP,
    )
    detect.add_argument(
        "--workers",
        type=_bounded_int("workers"),
        default=os.cpu_count() or 1,
        help="threads for features (default: the number of CPUs, %(default)s here)",
    )
    detect.set_defaults(handler=_detect)

    profile = sub.add_parser(
        "profile",
        help="summarise a baseline window once into a reusable profile file",
        description="Summarise a window into a profile that `detect --baseline` accepts.",
    )
    profile.add_argument("--input", required=True, type=Path, help="CSV or Parquet")
    profile.add_argument("--output", type=Path, help=f"file ending {PROFILE_SUFFIX}")
    add_store_options(profile)
    _add_spec_options(profile)
    profile.add_argument(
        "--chunk-rows",
        type=_bounded_int("chunk-rows"),
        default=DEFAULT_CHUNK_ROWS,
        help=CHUNK_ROWS_HELP,
    )
    profile.set_defaults(handler=_profile)
    add_db_subcommands(sub)
    add_run_subcommand(sub)
    from driftwarden.detectors import historycli  # light: its handlers import the rest

    historycli.add_report_subcommands(sub)
    from driftwarden.detectors import alertscli  # light too

    alertscli.add_alerts_subcommand(sub)
    _add_plugin_subcommands(sub)
    return parser


PLUGIN_GROUP = "driftwarden.subcommands"
"""Entry points that add subcommands (`driftwarden operator` is one): the detectors never
import the operator, the operator registers itself here (pyproject.toml)."""


def _add_plugin_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            register = entry.load()
        except ImportError:  # an optional part that is not installed
            continue
        register(sub)


def _add_spec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", type=_names, help="comma-separated feature columns")
    parser.add_argument(
        "--categorical", type=_names, default=[], help="columns to treat as categorical"
    )
    parser.add_argument("--prediction", help="the model output column (prediction drift)")
    parser.add_argument(
        "--prediction-type",
        choices=[t.value for t in PredictionType],
        default=None,
        help=f"what --prediction holds (default: {PredictionType.PROBABILITY.value})",
    )
    parser.add_argument("--label", help="the ground-truth column (performance, concept drift)")
    parser.add_argument("--task", choices=[t.value for t in Task], help="required with --label")
    parser.add_argument(
        "--config", type=Path, help="detection settings or a ModelMonitor manifest (YAML)"
    )


# --- commands -----------------------------------------------------------------------------


def _detect(args: argparse.Namespace) -> int:
    from driftwarden.detectors.engine import compare
    from driftwarden.detectors.report import render_table

    _respace(args, args.current if args.baseline.suffix == PROFILE_SUFFIX else args.baseline)
    spec = build_spec(args)
    baseline_profile: WindowProfile | None = None
    if args.baseline.suffix == PROFILE_SUFFIX:
        baseline_profile = _load_profile(args.baseline)
        head = _read_head(args.current)
        resolution = _features_for_profile(spec, head, baseline_profile, args)
    else:
        head = _read_head(args.baseline)
        resolution = _resolve(spec, head, args.baseline, args)
    features = resolution.features
    columns = _needed_columns(spec, features)
    types = _column_types(spec, features, head)
    reading = {"chunk_rows": args.chunk_rows, "workers": args.workers}
    if baseline_profile is None:
        baseline_profile = _profile_window(args.baseline, spec, features, columns, types, **reading)
    current_profile = _profile_window(
        args.current, spec, features, columns, types, seed=10_000, **reading
    )
    report = compare(spec, features, baseline_profile, current_profile, workers=args.workers)
    report = _with_type_error_examples(report, args.current)
    if resolution.notes:
        report = replace(report, notes=(*report.notes, *resolution.notes))
    if args.format == "html":  # imported here: matplotlib only when a page is asked for
        from driftwarden.detectors.htmlreport.render import detect_page

        text = detect_page(
            report, spec, baseline_profile, current_profile, max_plots=args.max_plots
        )
    elif args.format == "json":
        text = json.dumps(report.to_dict(), indent=2, allow_nan=False)
    else:
        text = render_table(report)
    if args.output is not None:
        try:
            args.output.write_text(text + "\n")
        except OSError as exc:
            raise InputError(f"{args.output}: cannot write the report: {exc.strerror}") from exc
    else:
        print(text)
    if args.fail_on is not None and report.severity.rank >= Severity(args.fail_on).rank:
        # On stderr: with the report redirected, the exit code alone would not say why.
        print(f"driftwarden: severity {report.severity} meets --fail-on {args.fail_on}",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAIL_ON
    return EXIT_OK


def _profile(args: argparse.Namespace) -> int:
    from driftwarden.detectors.job.run import store_profile_from_args
    from driftwarden.detectors.profile import dumps

    if args.output is None and args.store is None:
        raise InputError("profile needs --output FILE or --store NAME")
    if args.output is not None and args.output.suffix != PROFILE_SUFFIX:
        raise InputError(f"{args.output}: a profile file must end in {PROFILE_SUFFIX}")
    _respace(args, args.input)
    spec = build_spec(args)
    head = _read_head(args.input)
    features = _resolve(spec, head, args.input, args).features
    columns = _needed_columns(spec, features)
    types = _column_types(spec, features, head)
    profile = _profile_window(
        args.input, spec, features, columns, types, chunk_rows=args.chunk_rows
    )
    if args.store is not None:
        print(store_profile_from_args(args, profile, spec))
        if args.output is None:
            return EXIT_OK
    # A unique temporary name and os.replace: concurrent writers never share a file.
    write_atomic(args.output, dumps(profile), what="profile")
    print(f"profile of {profile.rows} rows, {len(profile.columns)} columns -> {args.output}")
    return EXIT_OK


def _read_head(path: Path) -> pd.DataFrame:
    from driftwarden.detectors.tables import read_head

    head = read_head(path)
    if not len(head.columns):
        raise InputError(f"{path}: the file has no columns")
    return head


def _declared_kinds(args: argparse.Namespace) -> dict[str, FeatureKind]:
    """`--categorical` names when features are inferred (with --features, build_spec)."""
    if args.features is not None:
        return {}
    return dict.fromkeys(args.categorical, FeatureKind.CATEGORICAL)


def _resolve(
    spec: DetectionSpec,
    head: pd.DataFrame,
    path: Path,
    args: argparse.Namespace,
    exclude: Sequence[str] = (),
    *,
    stored: WindowProfile | None = None,
) -> Resolution:
    """Features of `path`'s columns; every column a setting names must be there. With a
    `stored` baseline profile, undeclared features take the kinds it holds."""
    from driftwarden.detectors.engine import resolve_columns

    with _naming(path):
        kinds = _declared_kinds(args)
        if spec.features and kinds:
            known = {f.name for f in spec.features}
            unknown = sorted(set(kinds) - known)
            if unknown:
                raise _not_among_features(unknown, [f.name for f in spec.features])
            kinds = {}
        return resolve_columns(spec, head, exclude, kinds=kinds, stored=stored)


def _column_types(
    spec: DetectionSpec, features: Sequence[ResolvedFeature], head: pd.DataFrame
) -> dict[str, ColumnType]:
    """One type per column for both windows: the first file's, categorical ones as text,
    numeric ones read as numbers (a text cell is then that column's type error; with a
    stored baseline the head is the current window's, which must not retype a column)."""
    from driftwarden.detectors.tables import ColumnType, column_types

    types = column_types(head)
    for feature in features:
        if feature.kind is FeatureKind.CATEGORICAL:
            types[feature.name] = ColumnType.TEXT
        elif types.get(feature.name) is ColumnType.TEXT:
            types[feature.name] = ColumnType.NUMBER
    if spec.prediction is not None and spec.prediction.type is PredictionType.CLASS:
        types[spec.prediction.column] = ColumnType.TEXT
    return types


def _profile_window(
    path: Path,
    spec: DetectionSpec,
    features: Sequence[ResolvedFeature],
    columns: Sequence[str],
    types: dict[str, ColumnType],
    *,
    chunk_rows: int,
    workers: int = 1,
    seed: int = 0,
) -> WindowProfile:
    """One window's profile; every problem with its data is an error naming `path`."""
    from driftwarden.detectors.engine import check_columns, check_probabilities, profile_frames
    from driftwarden.detectors.tables import read_columns

    with _naming(path):
        available = read_columns(path)
        check_columns(spec, available, where="the file")
        chunks = profile_chunks(path, columns, chunk_rows=chunk_rows, types=types)
        profile = profile_frames(chunks, spec, features, seed=seed, workers=workers)
        _check_rows(profile, path)
        _check_numbers(profile, features, path)
        check_probabilities(spec, profile)
    return profile


def _check_numbers(profile: WindowProfile, features: Sequence[ResolvedFeature], path: Path) -> None:
    """Refuse a numeric feature of which this window has values but not one number (a text
    column declared numeric: every value a type error, nothing to compare). Some values
    that are not numbers stay type errors the quality section shows."""
    from driftwarden.detectors.profile import NumericProfile
    from driftwarden.detectors.tables import non_numbers

    for feature in features:
        column = profile.columns.get(feature.name)
        if isinstance(column, NumericProfile) and column.count == 0 and column.type_errors:
            example = non_numbers(path, [feature.name], limit=1)[feature.name]
            shown = f" (e.g. {_shown(example[0])})" if example else ""
            how = "read as numeric" if feature.kind_inferred else "declared numeric"
            raise InputError(
                f"column {feature.name!r} is {how} but none of its values is a number{shown}"
            )


def _with_type_error_examples(report: Report, path: Path) -> Report:
    """The report with up to 3 values of each column's type errors (the current window's,
    read again from `path`: a profile counts them, it does not keep them)."""
    from driftwarden.detectors.tables import non_numbers

    quality = report.sections.quality
    if quality is None or not quality.findings:
        return report
    wanted = [
        finding.column
        for finding in quality.findings
        if (errors := finding.checks.type_errors) is not None
        and errors.count
        and not errors.examples
    ]
    if not wanted:
        return report
    examples = non_numbers(path, wanted, limit=3)  # one read for every such column
    findings = []
    for finding in quality.findings:
        errors = finding.checks.type_errors
        if errors is not None and finding.column in examples:
            shown = tuple(_clipped(v) for v in examples[finding.column])
            checks = replace(finding.checks, type_errors=replace(errors, examples=shown))
            finding = replace(finding, checks=checks)
        findings.append(finding)
    sections = replace(report.sections, quality=replace(quality, findings=tuple(findings)))
    return replace(report, sections=sections)


def _clipped(value: str, limit: int = 40) -> str:
    """A value from a data file cut to about `limit` characters."""
    return value if len(value) <= limit else value[:limit] + "..."


def _shown(value: str, limit: int = 40) -> str:
    """A value from a data file, quoted and escaped, at most about `limit` characters."""
    return repr(_clipped(value, limit))


def profile_chunks(
    path: Path,
    columns: Sequence[str],
    *,
    chunk_rows: int,
    types: dict[str, ColumnType],
) -> Iterator[Chunk]:
    """A file's chunks for its profile: Parquet as `profile.ArrowChunk`s read one chunk
    ahead in a thread (Arrow decodes with the GIL released while the profiles sort), CSV as
    the frames of `tables.iter_chunks`. The same profile either way (`tables`' frames)."""
    from driftwarden.detectors.profile import ArrowChunk
    from driftwarden.detectors.readahead import prefetched
    from driftwarden.detectors.tables import iter_arrow_chunks, iter_chunks, table_format

    if table_format(path) != "parquet":
        yield from iter_chunks(path, columns, chunk_rows=chunk_rows, types=types)
        return
    parts = iter_arrow_chunks(path, columns, chunk_rows=chunk_rows, types=types)
    for table, to_frame, plain in prefetched(parts):
        yield ArrowChunk(table, to_frame, plain)


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Input errors raised inside name `path` (once) at the start of their message."""
    try:
        yield
    except InputError as exc:
        message = str(exc)
        if message.startswith(str(path)):
            raise
        raise InputError(f"{path}: {message}") from exc


# --- settings -----------------------------------------------------------------------------


def build_spec(args: argparse.Namespace) -> DetectionSpec:
    """Settings from --config, then command-line options on top."""
    base: dict[str, Any] = load_config(args.config) if args.config is not None else {}
    spec = DetectionSpec.model_validate(base)
    updates: dict[str, Any] = {}
    categorical = set(args.categorical)
    if args.features is not None:
        declared = {f.name: f for f in spec.features}
        updates["features"] = [declared.get(name, FeatureSpec(name=name)) for name in args.features]
    features = updates.get("features", list(spec.features))
    if categorical:
        known = {f.name for f in features}
        features = [
            f.model_copy(update={"type": FeatureKind.CATEGORICAL}) if f.name in categorical else f
            for f in features
        ]
        if known:
            unknown = sorted(categorical - known)
            if unknown:
                raise _not_among_features(unknown, [f.name for f in features])
        updates["features"] = features
    if args.prediction is not None:
        updates["prediction"] = PredictionSpec(
            column=args.prediction,
            type=PredictionType(args.prediction_type or PredictionType.PROBABILITY),
        )
    if args.label is not None:
        if args.task is None:
            raise InputError("--label needs --task binary|multiclass|regression")
        updates["labels"] = LabelSpec(column=args.label, task=Task(args.task))
    elif args.task is not None and spec.labels is None:
        raise InputError("--task needs --label COLUMN")
    if not updates:
        return spec
    return DetectionSpec.model_validate(
        {
            **spec.model_dump(by_alias=True, exclude_none=True),
            **{key: _dump(value) for key, value in updates.items()},
        }
    )


def _not_among_features(unknown: Sequence[str], features: Sequence[str]) -> InputError:
    """--categorical naming columns that the declared features do not list."""
    from driftwarden.detectors.hints import hint

    return InputError(
        f"--categorical names column(s) not among the features: {', '.join(unknown)}"
        f"{hint(unknown[0], features, 'features')}"
    )


def load_config(path: Path) -> dict[str, Any]:
    """Detection settings from YAML: a bare settings document or a ModelMonitor manifest,
    read and validated with bounded work (`driftwarden.detectors.configfile`)."""
    return configfile.load_config(path)


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, exclude_none=True)
    return value


def _features_for_profile(
    spec: DetectionSpec, head: pd.DataFrame, profile: WindowProfile, args: argparse.Namespace
) -> Resolution:
    """Features of a stored baseline: kinds must match what the profile holds."""
    from driftwarden.detectors.engine import check_columns
    from driftwarden.detectors.profile import NumericProfile

    stored = set(profile.columns) | {str(c) for c in profile.row_sample.columns}
    with _naming(args.baseline):
        check_columns(spec, sorted(stored), where="the profile")
    if not spec.features:
        # Every column the profile summarised must be in the current window, as a file
        # baseline's columns must: a vanished column is refused, not silently dropped.
        present = {str(c) for c in head.columns}
        lost = [name for name in profile.columns if name not in present]
        if lost:
            more = f" and {len(lost) - 20} more" if len(lost) > 20 else ""
            from driftwarden.detectors.hints import hint

            raise InputError(
                f"{args.current}: column(s) of the baseline profile not found: "
                f"{', '.join(lost[:20])}{more}{hint(lost[0], sorted(present))}"
            )
    exclude = [str(c) for c in head.columns if str(c) not in profile.columns]
    resolution = _resolve(spec, head, args.current, args, exclude, stored=profile)
    for feature in resolution.features:
        kept = profile.columns.get(feature.name)
        if kept is None:
            from driftwarden.detectors.hints import hint

            raise InputError(
                f"{args.baseline}: feature {feature.name!r} is not in the profile"
                f"{hint(feature.name, list(profile.columns))}"
            )
        stored_kind = "numeric" if isinstance(kept, NumericProfile) else "categorical"
        if stored_kind != str(feature.kind):
            raise InputError(
                f"{args.current}: feature {feature.name!r} is {feature.kind} here but "
                f"{stored_kind} in the profile {args.baseline}"
            )
    return resolution


def _needed_columns(spec: DetectionSpec, features: Sequence[ResolvedFeature]) -> list[str]:
    """Every column the profiles read: the same list the engine profiles."""
    from driftwarden.detectors.engine import profile_columns

    kinds, sample_columns = profile_columns(spec, features)
    return list(dict.fromkeys([*kinds, *sample_columns]))


def _check_rows(profile: WindowProfile, path: Path) -> None:
    if profile.rows == 0:
        raise InputError(f"{path}: the window is empty (no rows)")


def _load_profile(path: Path) -> WindowProfile:
    """A stored profile, read with bounded work and checked against its invariants
    (`profile.load_profile`); any problem is an InputError naming the file."""
    from driftwarden.detectors.profile import ProfileFormatError, load_profile

    try:
        return load_profile(path)
    except ProfileFormatError as exc:
        raise InputError(f"{path}: {exc}") from exc


# --- small helpers ------------------------------------------------------------------------


def _respace(args: argparse.Namespace, path: Path) -> None:
    """`--features` and `--categorical` names are stripped (`_names`), and so are the file's
    for matching them: `sp` names a column `'  sp  '` when no column is named `sp` and no
    other one strips to it. Names in --config are exact."""
    from driftwarden.detectors.tables import read_columns

    if args.features is None and not args.categorical:
        return
    columns = read_columns(path)
    exact = set(columns)
    stripped: dict[str, list[str]] = {}
    for column in columns:
        stripped.setdefault(column.strip(), []).append(column)

    def real(name: str) -> str:
        found = stripped.get(name, [])
        return found[0] if name not in exact and len(found) == 1 else name

    if args.features is not None:
        args.features = [real(n) for n in args.features]
    args.categorical = [real(n) for n in args.categorical]


def _names(text: str) -> list[str]:
    """argparse type of every column-list option: names once each, none empty."""
    names = [n.strip() for n in text.split(",")]
    if not any(names):
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    if not all(names):
        raise argparse.ArgumentTypeError(f"an empty column name in {text[:200]!r}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"column(s) named twice: {', '.join(twice)[:200]}")
    return names


#: The largest value an integer option takes (`--chunk-rows`, `--workers`): beyond it a
#: value is a typo, and a chunk of 10**20 rows would be allocated as asked.
MAX_INT_OPTION = {"chunk-rows": MAX_CHUNK_ROWS, "workers": 1024, "max-plots": 100_000}


def _bounded_int(name: str) -> Any:
    """argparse type: an integer in [1, MAX_INT_OPTION[name]] (`argtypes.bounded_int`)."""
    return bounded_int(name, MAX_INT_OPTION[name])


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


#: The longest error line printed: a message naming 100,000 columns is cut, not printed whole.
MAX_MESSAGE_CHARS = 1000


def _fail(message: str, code: ExitCode = ExitCode.INVALID_INPUT) -> NoReturn:
    # one line; spaces inside it kept: a column named '  sp  ' is shown as it is
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    if len(line) > MAX_MESSAGE_CHARS:
        line = f"{line[: MAX_MESSAGE_CHARS - 40]}… ({len(line)} characters, cut)"
    print(f"driftwarden: error: {line}", file=sys.stderr)
    raise SystemExit(int(code))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
