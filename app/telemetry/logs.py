"""Log lines as text (the default) or one JSON object each (`CARTOGRAPH_LOG_FORMAT=json`).

A JSON line carries `time` (UTC, ISO 8601 with Z), `level`, `logger`, `message`, the
`request_id` of the request it was written in (a context variable the request-id middleware
sets), the fields a call passes in `extra` (the access line's method, route, status ...),
and `exception` with the traceback when there is one.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from app.middleware.request_id import current_request_id

# The attributes every LogRecord has: whatever else a record holds came from `extra`.
# (uvicorn's `color_message` is its message again, with terminal colour codes.)
RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "color_message"}
)
ACCESS_LOGGER = "app.access"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in RECORD_ATTRIBUTES and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    """Text: the standard library's basic configuration, as before (a no-op when the root
    logger already has a handler, uvicorn's or a test runner's). JSON: one stderr handler on
    the root logger (added once however many apps a process builds), and uvicorn's loggers
    pass their lines to it."""
    if log_format == "text":
        logging.basicConfig(level=level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, JsonFormatter):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own loggers (when it configured them) write text through their own handlers;
    # the access line is ours (`app.access`), so uvicorn's is not wanted twice.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
