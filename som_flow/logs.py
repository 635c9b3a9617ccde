"""Logging for operators: text or one JSON object per line, every line of a request carrying its request id.

`configure_logging` is called by the app factory (so `som-flow serve`, `som-flow scheduler` and a WSGI server's
workers all log alike); the request id comes from the web layer (`web.health`), which stores it in the WSGI
environ where the log record factory below finds it.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import uuid
from datetime import UTC, datetime
from typing import IO

from flask import has_request_context, request

from som_flow.errors import ValidationFailed

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KEY = "som.request_id"  # the WSGI environ key holding this request's id
LOG_FORMATS = ("text", "json")
# an id from a proxy or a client is kept only if it cannot forge a log line or bloat every line it is in
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
# what every LogRecord has anyway: the rest of its attributes are the caller's `extra=` fields
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "request", "taskName"}
_HANDLER_MARK = "_som_flow_handler"
# chatty at INFO about nothing an operator acts on (alembic's plugin set-up at import; APScheduler's every tick,
# which `som_flow.scheduler` reports itself when it delivers something; SpiffWorkflow's line per task state change,
# which the deal's history already tells): warnings only, unless DEBUG is asked for
QUIET_LOGGERS = ("alembic.runtime.plugins", "apscheduler.executors.default", "spiff")
_FACTORY_INSTALLED = False


def request_id_for(sent: str | None) -> str:
    """The id a request goes by: the one it was sent with (X-Request-ID) when sane, else a fresh one."""
    if sent and _SANE_REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being served in this context, None outside one (the scheduler, the CLI)."""
    if has_request_context():
        return request.environ.get(REQUEST_ID_KEY)
    return None


def install_request_ids() -> None:
    """Give every log record a `request_id` attribute, whichever handler (ours, pytest's, a host's) formats it.

    A record factory rather than a handler filter: a filter on one handler would leave the others without it."""
    global _FACTORY_INSTALLED
    if _FACTORY_INSTALLED:
        return
    previous = logging.getLogRecordFactory()

    def _record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    logging.setLogRecordFactory(_record)
    _FACTORY_INSTALLED = True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, host, pid, any
    `extra=` fields, and the traceback as `exc_info` text."""

    _host = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "host": self._host,
            "pid": record.process,
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and name not in line:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The readable form: time, level, [request id], logger, message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(request)s%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request = f"[{request_id}] " if request_id else ""
        return super().format(record)


def configure_logging(log_format: str = "text", level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Send the process's logs to stderr (or `stream`) as text or JSON lines. Idempotent: called again (a second
    app in one process) it replaces its own handler, never adds another. Raises ValidationFailed (naming the
    variable) for an unknown format or level, which the console script reports in one line."""
    log_format, level = log_format.strip().lower(), level.strip().upper()
    if log_format not in LOG_FORMATS:
        raise ValidationFailed(f"SOM_FLOW_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}",
                               {"SOM_FLOW_LOG_FORMAT": [f"Use {' or '.join(LOG_FORMATS)}."]})
    if not isinstance(logging.getLevelName(level), int):
        raise ValidationFailed(f"SOM_FLOW_LOG_LEVEL must be a logging level such as INFO, not {level!r}",
                               {"SOM_FLOW_LOG_LEVEL": ["Use DEBUG, INFO, WARNING or ERROR."]})
    install_request_ids()
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
    return handler
