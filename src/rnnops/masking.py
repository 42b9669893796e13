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
# Hydra writes a sweep job's overrides with ':' escaped (postgresql\://u\:pw@host), hence \\?.
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*\\?://[^\s:/@?#\\]*)(?P<colon>\\?:)"
    r"(?P<secret>[^\s]*?)@(?=[^\s@]*(?:[\s/?#\"',;)\]}]|$))")
# ...?password=PASSWORD in a query string (libpq and SQLAlchemy accept it there too)
_QUERY = re.compile(r"(?P<head>[?&;](?:password|passwd|pwd)=)[^&\s#\"',;]*", re.IGNORECASE)


def masked(text: str) -> str:
    """`text` with every URL password replaced by ***."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['head']}{m['colon']}{HIDDEN}@", text)
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


def _masking_factory(make: Any) -> Any:
    def make_masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: the handler reports it as it would
            return record
        if "://" in message or "=" in message:
            record.msg, record.args = masked(message), None
        return record

    make_masked.rnnops_masking = True  # type: ignore[attr-defined]
    return make_masked


def mask_logs() -> None:
    """Mask every log record from now on, as it is made (so also those of loggers whose handlers
    are set up again later: Hydra's launchers log each job's overrides between two such setups),
    and put the masking filter on every handler there is now, for the tracebacks."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "rnnops_masking", False):
        logging.setLogRecordFactory(_masking_factory(factory))
    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict
                                      .values() if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())
