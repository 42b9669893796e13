"""Credentials are never written: a password inside any string (a config value of any key, a
Hydra override, a log line, an error message) is replaced by `***` wherever rnnops writes it.
Detected by value, not by key name, so a URL-valued key added later is covered too.

The masked URL keeps its scheme, user, host, port and database, so it still says which store is
meant. Give passwords through ~/.pgpass or the environment instead (docs/reliability.md).
"""

from __future__ import annotations

import logging
import re
from typing import Any

HIDDEN = "***"

# scheme://user:PASSWORD@host... The password ends at the last '@' before the host (an
# unencoded '@' in it is masked too; drivers would take what follows for the host anyway).
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#]*):(?P<secret>[^\s]*?)"
    r"@(?=[^\s@]*(?:[\s/?#\"',;)\]}]|$))")
# ...?password=PASSWORD in a query string (libpq and SQLAlchemy accept it there too)
_QUERY = re.compile(r"(?P<head>[?&;](?:password|passwd|pwd)=)[^&\s#\"',;]*", re.IGNORECASE)


def masked(text: str) -> str:
    """`text` with every URL password replaced by ***."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['head']}:{HIDDEN}@", text)
    return _QUERY.sub(lambda m: f"{m['head']}{HIDDEN}", text)


def mask(value: Any) -> Any:
    """A copy of a nested structure (dicts, lists, tuples) with every string masked."""
    if isinstance(value, str):
        return masked(value)
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask(v) for v in value)
    return value


class MaskingFilter(logging.Filter):
    """Masks each record a handler writes, its traceback included (a handler filter sees the
    records of every logger, a logger's filter only its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as it would
            return True
        record.msg, record.args = masked(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = masked(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = masked(record.exc_text)
        return True


def mask_logs(logger: logging.Logger | None = None) -> None:
    """Install the masking filter on every handler of `logger` (the root logger by default),
    once each."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
