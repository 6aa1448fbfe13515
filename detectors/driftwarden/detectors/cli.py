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
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import yaml
from pydantic import ValidationError

from driftwarden.detectors import __version__
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
from driftwarden.detectors.engine import (
    ResolvedFeature,
    compare,
    profile_columns,
    profile_frames,
    resolve_features,
)
from driftwarden.detectors.errors import DriftwardenError, ExitCode, InputError
from driftwarden.detectors.job.run import (
    add_run_subcommand,
    add_store_options,
    store_profile_from_args,
)
from driftwarden.detectors.profile import (
    NumericProfile,
    ProfileFormatError,
    WindowProfile,
    dumps,
    loads,
)
from driftwarden.detectors.report import render_table
from driftwarden.detectors.storage.cli import add_db_subcommands
from driftwarden.detectors.tables import DEFAULT_CHUNK_ROWS, iter_chunks, read_head

EXIT_OK = ExitCode.OK
EXIT_FAIL_ON = ExitCode.FAIL_ON
EXIT_BAD_INPUT = ExitCode.INVALID_INPUT
PROFILE_SUFFIX = ".dwprofile"
DEBUG_ENV = "DRIFTWARDEN_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except DriftwardenError as exc:
        _fail(str(exc), exc.exit_code)
    except ValidationError as exc:
        _fail(_validation_message(exc))
    except BrokenPipeError:  # `driftwarden detect ... | head`
        return EXIT_OK
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.TRANSIENT)
    except Exception as exc:
        # A bug of ours, not the user's input: one line and its own exit code, so a pipeline
        # never reads a crash as "drift found" (exit 1) or as bad input (exit 2).
        if os.environ.get(DEBUG_ENV):
            raise
        _fail(
            f"internal error ({type(exc).__name__}: {_one_line(str(exc))}); "
            f"please report it (set {DEBUG_ENV}=1 for the traceback)",
            ExitCode.INTERNAL,
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftwarden", description="Model monitoring: drift, quality and performance."
    )
    parser.add_argument("--version", action="version", version=f"driftwarden {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    detect = sub.add_parser(
        "detect",
        help="compare a current window with a baseline (files or a stored profile)",
        description="Compare a current data window with a baseline window.",
    )
    detect.add_argument("--baseline", required=True, type=Path, help="CSV, Parquet or .dwprofile")
    detect.add_argument("--current", required=True, type=Path, help="CSV or Parquet")
    _add_spec_options(detect)
    detect.add_argument("--format", choices=("table", "json"), default="table")
    detect.add_argument("--output", type=Path, help="write the report here instead of stdout")
    detect.add_argument(
        "--fail-on",
        choices=("warning", "critical"),
        help="exit 1 when the run's severity reaches this level (for CI pipelines)",
    )
    detect.add_argument("--chunk-rows", type=_positive_int, default=DEFAULT_CHUNK_ROWS)
    detect.add_argument(
        "--workers", type=_positive_int, default=os.cpu_count() or 1, help="threads for features"
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
    profile.add_argument("--chunk-rows", type=_positive_int, default=DEFAULT_CHUNK_ROWS)
    profile.set_defaults(handler=_profile)
    add_db_subcommands(sub)
    add_run_subcommand(sub)
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
        "--prediction-type", choices=[t.value for t in PredictionType], default=None
    )
    parser.add_argument("--label", help="the ground-truth column (performance, concept drift)")
    parser.add_argument("--task", choices=[t.value for t in Task], help="required with --label")
    parser.add_argument(
        "--config", type=Path, help="detection settings or a ModelMonitor manifest (YAML)"
    )


# --- commands -----------------------------------------------------------------------------


def _detect(args: argparse.Namespace) -> int:
    spec = build_spec(args)
    baseline_profile: WindowProfile | None = None
    if args.baseline.suffix == PROFILE_SUFFIX:
        baseline_profile = _load_profile(args.baseline)
        head = read_head(args.current)
        features = _features_for_profile(spec, head, baseline_profile)
    else:
        head = read_head(args.baseline)
        features = resolve_features(spec, head)
    columns = _needed_columns(spec, features)
    if baseline_profile is None:
        baseline_profile = profile_frames(
            iter_chunks(args.baseline, columns, chunk_rows=args.chunk_rows),
            spec,
            features,
            workers=args.workers,
        )
    _check_rows(baseline_profile, args.baseline)
    current_profile = profile_frames(
        iter_chunks(args.current, columns, chunk_rows=args.chunk_rows),
        spec,
        features,
        seed=10_000,
        workers=args.workers,
    )
    _check_rows(current_profile, args.current)
    report = compare(spec, features, baseline_profile, current_profile, workers=args.workers)
    text = (
        json.dumps(report.to_dict(), indent=2, allow_nan=False)
        if args.format == "json"
        else render_table(report)
    )
    if args.output is not None:
        try:
            args.output.write_text(text + "\n")
        except OSError as exc:
            raise InputError(f"{args.output}: cannot write the report: {exc.strerror}") from exc
    else:
        print(text)
    if args.fail_on is not None and report.severity.rank >= Severity(args.fail_on).rank:
        return EXIT_FAIL_ON
    return EXIT_OK


def _profile(args: argparse.Namespace) -> int:
    if args.output is None and args.store is None:
        raise InputError("profile needs --output FILE or --store NAME")
    if args.output is not None and args.output.suffix != PROFILE_SUFFIX:
        raise InputError(f"{args.output}: a profile file must end in {PROFILE_SUFFIX}")
    spec = build_spec(args)
    features = resolve_features(spec, read_head(args.input))
    columns = _needed_columns(spec, features)
    profile = profile_frames(
        iter_chunks(args.input, columns, chunk_rows=args.chunk_rows), spec, features
    )
    _check_rows(profile, args.input)
    if args.store is not None:
        print(store_profile_from_args(args, profile, spec))
        if args.output is None:
            return EXIT_OK
    data = dumps(profile)
    tmp = args.output.with_suffix(args.output.suffix + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(args.output)  # never leave a half-written profile behind
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{args.output}: cannot write the profile: {exc.strerror}") from exc
    print(f"profile of {profile.rows} rows, {len(profile.columns)} columns -> {args.output}")
    return EXIT_OK


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
            unknown = categorical - known
            if unknown:
                listed = ", ".join(sorted(unknown))
                raise InputError(f"--categorical names column(s) not among the features: {listed}")
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


def load_config(path: Path) -> dict[str, Any]:
    """Detection settings from YAML: a bare settings document or a ModelMonitor manifest."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the config: {exc.strerror}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {_one_line(str(exc))}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    if document.get("kind") == "ModelMonitor":
        spec = document.get("spec")
        if not isinstance(spec, dict):
            raise InputError(f"{path}: the ModelMonitor has no spec")
        known = {field.alias or name for name, field in DetectionSpec.model_fields.items()}
        return {key: value for key, value in spec.items() if key in known}
    return document


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, exclude_none=True)
    return value


def _features_for_profile(
    spec: DetectionSpec, head: pd.DataFrame, profile: WindowProfile
) -> list[ResolvedFeature]:
    """Features of a stored baseline: kinds must match what the profile holds."""
    available = head[[c for c in head.columns if c in profile.columns]]
    features = resolve_features(spec, available)
    for feature in features:
        stored = profile.columns.get(feature.name)
        if stored is None:
            raise InputError(f"feature {feature.name!r} is not in the baseline profile")
        stored_kind = "numeric" if isinstance(stored, NumericProfile) else "categorical"
        if stored_kind != str(feature.kind):
            raise InputError(
                f"feature {feature.name!r} is {feature.kind} here but {stored_kind} in the profile"
            )
    return features


def _needed_columns(spec: DetectionSpec, features: Sequence[ResolvedFeature]) -> list[str]:
    """Every column the profiles read: the same list the engine profiles."""
    kinds, sample_columns = profile_columns(spec, features)
    return list(dict.fromkeys([*kinds, *sample_columns]))


def _check_rows(profile: WindowProfile, path: Path) -> None:
    if profile.rows == 0:
        raise InputError(f"{path}: the window is empty (no rows)")


def _load_profile(path: Path) -> WindowProfile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the profile: {exc.strerror}") from exc
    try:
        return loads(data)
    except ProfileFormatError as exc:
        raise InputError(f"{path}: {exc}") from exc


# --- small helpers ------------------------------------------------------------------------


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return names


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(p) for p in first["loc"]) or "config"
    return f"invalid settings at {location}: {first['msg']}"


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _fail(message: str, code: ExitCode = ExitCode.INVALID_INPUT) -> NoReturn:
    print(f"driftwarden: error: {message}", file=sys.stderr)
    raise SystemExit(int(code))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
