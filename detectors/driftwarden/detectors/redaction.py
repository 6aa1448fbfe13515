"""Keeping credentials out of messages: one place for storage and sources alike.

Credentials are removed by parsing, never by searching for the secret's text (a search
for a one-letter `PGPASSWORD` garbles every message and shows where the letter occurs):

- a database URL is parsed and rendered again without its secrets: the password of the
  user-info part, every query parameter whose name marks a secret (`password`,
  `sslpassword`, `passfile`, `sslkey`, `token`, ...), and a libpq `options` parameter that
  sets one (`options=-c%20password%3D...`), which is hidden whole;
- URLs inside free text (a driver's message) are found by their `scheme://` shape and
  rendered the same way; one that does not parse is replaced whole;
- libpq key/value connection strings (`host=h password='x y'`) are tokenised by libpq's
  quoting rules and the values of secret keys replaced.

`PGPASSWORD` never needs redacting on its own: `resolve_database_url` puts it into the
URL's password, which is masked by parsing wherever the URL is shown, and libpq never
echoes a password in its messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url

__all__ = [
    "INVALID_URL",
    "MASK",
    "describe_error",
    "is_secret_key",
    "mask_url",
    "parse_url",
    "redact",
]

MASK = "***"
INVALID_URL = "not a valid database URL (value not shown)"

#: Parts of a parameter name that mark its value as secret (compared case-insensitively).
_SECRET_WORDS = ("password", "passwd", "passfile", "pwd", "secret", "token", "sslkey", "apikey")
#: Parameters whose value is a list of other settings (libpq's `options`: `-c key=value`).
_NESTED_KEYS = ("options",)
# A URL inside free text: a scheme, `://`, then up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
# One libpq conninfo pair: key = value, the value bare or single-quoted with \-escapes.
_CONNINFO_PAIR = re.compile(r"\b([A-Za-z_]+)(\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s']+)")


def is_secret_key(name: str) -> bool:
    """Whether a connection parameter's value is a credential (by its name)."""
    lowered = name.lower().lstrip("-")
    return any(word in lowered for word in _SECRET_WORDS)


def _options_hold_secret(value: str) -> bool:
    """Whether a libpq `options` value (`-c key=value -c ...`, URL-decoded) sets a secret."""
    text = unquote(value)
    for match in re.finditer(r"([A-Za-z_.-]+)\s*=", text):
        key = match.group(1)
        if key.startswith("c") and text[max(match.start() - 1, 0)] == "-":
            key = key[1:]  # `-cpassword=...`
        if is_secret_key(key):
            return True
    return False


def _mask_query(url: URL) -> URL:
    masked: dict[str, str | tuple[str, ...]] = {}
    changed = False
    for key, value in url.query.items():
        values = value if isinstance(value, tuple) else (value,)
        if is_secret_key(key) or (
            key.lower() in _NESTED_KEYS and any(_options_hold_secret(v) for v in values)
        ):
            masked[key] = MASK
            changed = True
        else:
            masked[key] = value
    return url.set(query=masked) if changed else url


def parse_url(text: str) -> URL:
    """`text` as a SQLAlchemy URL; ValueError with `INVALID_URL` (the text never shown)
    when it does not parse (no `scheme://`, a port that is not a number, ...)."""
    try:
        url = make_url(text)
        _ = url.port  # make_url defers nothing today; keep the check explicit
    except (exc.ArgumentError, ValueError, TypeError):
        raise ValueError(INVALID_URL) from None
    return url


def mask_url(url: URL | str) -> str:
    """The URL as text with every secret replaced by `***`: the user-info password and
    secret query parameters (see the module docstring). Text that does not parse is not
    shown at all."""
    if isinstance(url, str):
        try:
            url = parse_url(url)
        except ValueError:
            return "<invalid URL, not shown>"
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database.startswith("file:"):
        # A SQLite URI (`sqlite_read_only_url`): the user set a path, show that path.
        return f"sqlite:///{unquote(database.removeprefix('file:'))}"
    # The query is URL-encoded when rendered: show the mask as itself.
    return _mask_query(url).render_as_string(hide_password=True).replace("%2A%2A%2A", MASK)


def _mask_urls_in(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        trailing = ""
        while found and found[-1] in ".,;:)]}":
            trailing = found[-1] + trailing
            found = found[:-1]
        return mask_url(found) + trailing

    return _URL_IN_TEXT.sub(one, text)


def _mask_conninfo(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        key, equals, _value = match.groups()
        if is_secret_key(key):
            return f"{key}{equals}{MASK}"
        return match.group(0)

    return _CONNINFO_PAIR.sub(one, text)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with credentials removed by parsing: URLs in it are masked (`mask_url`),
    and `key=value` settings of secret keys (libpq conninfo) get `***` as value.

    `secrets` is accepted for callers of the former text-search version and ignored: a
    secret is removed where the text's structure says it is, never by searching for it.
    """
    del secrets
    return _mask_conninfo(_mask_urls_in(text))


def describe_error(error: BaseException, url: URL | None = None) -> str:
    """One line describing a (driver) error, credentials removed by parsing."""
    del url
    original = getattr(error, "orig", None) or error
    text = " ".join(str(original).split())
    return redact(text)
