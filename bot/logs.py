"""Logging: one JSON object a line, with secrets redacted before anything is written."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

# Slack tokens, Stripe keys and webhook secrets, bearer tokens, card numbers (13-19 digits,
# spaced or not), and "password=..." style pairs.
_SECRETS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+"),
    re.compile(r"\bwhsec_[A-Za-z0-9]+"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/-]+=*"),
    re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    re.compile(r"(?i)(password|passwd|secret|token|csrf)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
    re.compile(r"/secure/[a-z-]+/[A-Za-z0-9._~-]+"),
)


def redact(text: str) -> str:
    for pattern in _SECRETS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False).translate(_LINE_BREAKS_ESCAPED)


# Characters that end a line for some readers (Python's `splitlines`, log shippers) although
# JSON allows them raw inside a string: escaped, so one record is always one line.
_LINE_BREAKS_ESCAPED = {code: f"\\u{code:04x}" for code in (0x85, 0x2028, 0x2029)}


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
