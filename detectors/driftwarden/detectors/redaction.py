"""Keeping credentials out of messages: one place for storage and sources alike."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with passwords removed: the given secrets, `PGPASSWORD`, and anything that
    looks like the password part of a URL (`scheme://user:secret@host`) or a libpq DSN
    (`password=secret`)."""
    for secret in (*secrets, os.environ.get("PGPASSWORD")):
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"(\b[\w.+-]+://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)


def mask_url(url: URL | str) -> str:
    """The URL as text with its password replaced by `***` (a placeholder when the text
    does not parse: where its password would be cannot be told)."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except exc.ArgumentError:
            return "<unparseable URL, not shown>"
    return url.render_as_string(hide_password=True)


def describe_error(error: BaseException, url: URL | None = None) -> str:
    """One line describing a (driver) error, credentials removed."""
    original = getattr(error, "orig", None) or error
    text = " ".join(str(original).split())
    password = url.password if url is not None else None
    return redact(text, (password if isinstance(password, str) else None,))
