"""Log lines a machine can read and nobody's phone number in them.

``configure(settings)`` sends every logger of the process (ours, uvicorn's, SQLAlchemy's)
to stderr as ``key=value`` text or one JSON object per line (``CAMPAIGN_LOG_FORMAT``),
from ``CAMPAIGN_LOG_LEVEL`` up.  Numbers never reach a log by design (the write path only
handles them as hashes and masks); ``PhoneMask`` is the safety net that masks anything
that still looks like one, in the message, its arguments' rendering, extra fields and
tracebacks alike.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from campaign.settings import Settings

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}

# A number as a person or a provider writes it: "+31 6 1234 5678", "31612345678",
# "0612345678", "06-1234-5678": eight or more digits, optionally led by + and broken by
# single spaces or dashes, not glued to letters or digits (ids, hashes) on either side.
_CANDIDATE = re.compile(r"(?<![\w+.])(?<!\w-)\+?\d(?:[ \-]?\d){7,19}(?!\w|[.-]\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2})?")  # 2026-12-01 (02:37:23 follows)
_MASK = "•••"


def mask_phones(text: str) -> str:
    """``text`` with every run that could be a phone number masked (``+•••78``)."""
    return _CANDIDATE.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    found = match.group(0)
    if _DATE.fullmatch(found):
        return found
    digits = [c for c in found if c.isdigit()]
    return ("+" if found.startswith("+") else "") + _MASK + "".join(digits[-2:])


# Loggers whose every field is ours (method, route template, status, time): no need to look.
_OWN_FIELDS_ONLY = frozenset({"campaign.access"})


class PhoneMask(logging.Filter):
    """Masks phone-number-like runs in a record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in _OWN_FIELDS_ONLY and not record.args and not record.exc_info:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what we have
            message = str(record.msg)
        record.msg, record.args = mask_phones(message), None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, mask_phones(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
            record.exc_info = None  # formatted (and masked) once, above
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """``{"time": ..., "level": "info", "logger": ..., "message": ..., <extra fields>}``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-12-01T02:37:23.104Z info campaign.access method=POST route=/webhooks/twilio ...``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        parts = [f"{stamp}Z", record.levelname.lower(), record.name, record.getMessage()]
        parts += [f"{key}={_quoted(value)}" for key, value in _fields(record).items()]
        text = " ".join(part for part in parts if part)
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


def _quoted(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text or any(c in text for c in ' "=') else text


_HANDLER_NAME = "campaign"


def configure(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record of the process through one masked, formatted handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(PhoneMask())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # No line prints a source file, thread or process name: skip finding them for every record
    # (the logging HOWTO's "Optimization"; an access line per request makes it count).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's own handlers, if any
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # its lines carry raw query strings
    # Libraries' chatter stays out of a command's output unless debugging; httpx's INFO
    # lines would also carry whole URLs, API keys in their query strings included.
    for name in ("alembic", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    return handler
