"""Process logging: text for people at a terminal, JSON lines for log collectors.

Every line written while a request is handled carries its request id (the ``X-Request-ID`` the
caller sent or the one made up for it, see ``web.app.AuditContextMiddleware``).
"""

import json
import logging
from datetime import UTC, datetime

from cangliu.db import audit

# Fields the access log adds to its records (``extra=``), written out when present.
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "user")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage()}
        request_id = getattr(record, "request_id", "") or audit.current().request_id
        if request_id:
            line["request_id"] = request_id
        line.update({k: getattr(record, k) for k in REQUEST_FIELDS if hasattr(record, k)})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", "") or audit.current().request_id
        return f"{text} [{request_id}]" if request_id else text


def configure(log_format: str, level: str) -> None:
    """One handler on the root logger; uvicorn's loggers write through it too."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # /ready reads the schema revision through alembic, which announces itself at INFO each time.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # cangliu.access (web/ops.py) logs each request with its id, user and duration instead.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
