"""Every option of the detectors' commands says what it does, and one with a default shows
it (argparse's `%(default)s`, so the text cannot drift from the value). A new user met
`driftwarden detect --help` listing `--chunk-rows CHUNK_ROWS` with no word and no default.

The walker covers the top-level options, every subcommand the detectors register and the
plugin subcommands (`driftwarden.subcommands` entry points: `operator`), registered the way
`driftwarden` registers them at run time (`build_parser` loads the entry points).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import pytest

from driftwarden.detectors.chunks import FILE_CHUNK_ROWS
from driftwarden.detectors.cli import PLUGIN_GROUP, build_parser

#: The detectors' own subcommands; the walker checks this list is complete.
OWN = {"detect", "profile", "run", "db", "report", "history", "alerts"}
#: Plugin subcommands installed with the package (pyproject.toml's entry points).
PLUGINS = {"operator"}
#: Defaults that are "not given" rather than a value to show ("": an empty text, e.g. no
#: Alertmanager URL, which its help calls "off").
UNSHOWN = (None, False, "", argparse.SUPPRESS)


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse._SubParsersAction[Any]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in _subparsers(parser):
        for name, child in action.choices.items():
            yield from _walk(child, (*path, name))


def _commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    top = build_parser()
    plugins = {e.name for e in entry_points(group=PLUGIN_GROUP)}
    assert plugins == PLUGINS, f"update PLUGINS: {sorted(plugins ^ PLUGINS)}"
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = [((), top)]
    for action in _subparsers(top):
        registered = set(action.choices) - plugins
        assert registered == OWN, f"update OWN: {sorted(registered ^ OWN)}"
        # a plugin whose import failed is skipped at run time; here it must be there
        assert plugins <= set(action.choices), sorted(plugins - set(action.choices))
        for name in sorted(OWN | plugins):
            found.extend(_walk(action.choices[name], (name,)))
    return found


def _options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        yield action


def _label(path: tuple[str, ...], action: argparse.Action) -> str:
    return " ".join(["driftwarden", *path, "/".join(action.option_strings) or action.dest])


def _problems(action: argparse.Action) -> list[str]:
    text = action.help or ""
    if text is argparse.SUPPRESS:
        return []
    problems = []
    if not text.strip():
        problems.append("no help text")
    default = action.default
    if default not in UNSHOWN and default != [] and "%(default)" not in text:
        problems.append(f"default {default!r} not shown (add '(default: %(default)s)')")
    return problems


def test_every_option_has_help_and_shows_its_default() -> None:
    found = [
        f"{_label(path, action)}: {problem}"
        for path, parser in _commands()
        for action in _options(parser)
        for problem in _problems(action)
    ]
    assert not found, "\n".join(found)


def test_the_walker_sees_the_options_a_user_met() -> None:
    """The test above would pass over nothing if the walk went wrong: the options named in
    the trial are among those it checks."""
    seen = {_label(path, action) for path, parser in _commands() for action in _options(parser)}
    for expected in (
        "driftwarden detect --chunk-rows",
        "driftwarden profile --chunk-rows",
        "driftwarden run --statement-timeout",
        "driftwarden history feature --feature",
        "driftwarden alerts --limit",
        "driftwarden report --since",
        "driftwarden db retention --keep-runs",
        "driftwarden db tenant grant namespace",
        "driftwarden --version",
        "driftwarden operator --watch-inactivity-timeout",
        "driftwarden operator --lease-seconds",
        "driftwarden operator --verbose/-v",
        "driftwarden operator --maintenance-lookahead",  # in an argument group
    ):
        assert expected in seen


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        (argparse.Action(["--x"], "x"), "no help text"),
        (argparse.Action(["--x"], "x", default=5, help="five"), "default 5 not shown"),
    ],
)
def test_the_check_finds_what_it_is_for(action: argparse.Action, problem: str) -> None:
    assert any(p.startswith(problem) for p in _problems(action))


@pytest.mark.parametrize(
    "action",
    [
        argparse.Action(["--x"], "x", default=5, help="five (default: %(default)s)"),
        argparse.Action(["--x"], "x", default=None, help="optional"),
        argparse.Action(["--x"], "x", default=[], help="a list"),
        argparse.Action(["--x"], "x", default=argparse.SUPPRESS, help=argparse.SUPPRESS),
    ],
)
def test_the_check_passes_what_is_right(action: argparse.Action) -> None:
    assert _problems(action) == []


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["detect", "--help"], f"(default: {FILE_CHUNK_ROWS})"),
        (["history", "runs", "--help"], "(default: 30d)"),
        (["alerts", "--help"], "(default: 7d)"),
        (["operator", "--help"], "(default: 9808)"),
        (["operator", "--help"], "(default: driftwarden-operator)"),
        (["operator", "--help"], "(default: 70.0)"),
    ],
)
def test_help_prints_the_default(
    argv: list[str], shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 0
    assert shown in " ".join(capsys.readouterr().out.split())


def test_operator_help_never_prints_the_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The URL was the option's default, so --help (ArgumentDefaultsHelpFormatter) printed
    it, password and all; the operator reads the variable when it starts instead."""
    from driftwarden.operator.command import ENV_DATABASE_URL, database_url

    url = "postgresql://alice:s3cr3t@db/results"
    monkeypatch.setenv(ENV_DATABASE_URL, url)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["operator", "--help"])
    out = capsys.readouterr().out
    assert "s3cr3t" not in out
    assert f"${ENV_DATABASE_URL}" in out
    args = build_parser().parse_args(["operator"])
    assert database_url(args) == url
    given = build_parser().parse_args(["operator", "--database-url", "sqlite:///x.db"])
    assert database_url(given) == "sqlite:///x.db"
    assert database_url(args, environ={}) is None
