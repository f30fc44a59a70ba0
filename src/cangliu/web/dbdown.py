"""A database that cannot be reached (or stays too busy) answers 503 with Retry-After, not a
500 traceback.

While PostgreSQL restarts (or SQLite stays locked past its busy timeout, or the pool has no
connection to hand out) every request fails the same way; clients are told so in their language
and when to try again. The transaction of the failed request was rolled back by the database;
a write whose commit was cut off may or may not have been applied, which is why the message
points at the Idempotency-Key: retried with the same key, a write is applied at most once.
The engine drops its dead connections on the first such error, so once the database is back the
same process serves again without a restart.
"""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cangliu.db.uow import is_retryable
from cangliu.i18n import translate
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of, problem

RETRY_AFTER_S = 3
TITLE = "Database unavailable"
DETAIL = ("The database cannot be reached at the moment. Try again shortly; a write retried "
          "with the same Idempotency-Key is applied at most once.")
# Contention that outlasted the retries (deadlock, serialization failure, SQLite's lock) or a
# lock or statement timeout: the database is there, and the transaction was rolled back.
BUSY_SQLSTATES = {"55P03", "57014"}  # lock_not_available, query_canceled
BUSY_TITLE = "Database busy"
BUSY_DETAIL = ("The database was too busy to finish this request and nothing of it was saved. "
               "Try again shortly; a write retried with the same Idempotency-Key is applied at "
               "most once.")
log = logging.getLogger("cangliu.web")


async def on_database_down(request: Request, exc: Exception) -> Response:
    """503 problem details (an error page for a browser opening a page) with Retry-After."""
    cause = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, cause[:300])
    locale = locale_of(request)
    busy = is_retryable(exc) or getattr(getattr(exc, "orig", None), "sqlstate", None) in BUSY_SQLSTATES
    title = BUSY_TITLE if busy else TITLE
    detail = translate(locale, BUSY_DETAIL) if busy else translate(locale, DETAIL)
    response: Response | None = None
    if not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", ""):
        response = _page(request, title, detail)
    if response is None:
        response = problem(request, 503, title, detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _page(request: Request, title: str, detail: str) -> Response | None:
    """The usual error page; None when even that cannot be drawn (problem details instead)."""
    try:
        return render(request, "error.html", None, status_code=503, status=503, title=title,
                      detail=detail)
    except Exception:  # the page is a courtesy; the problem details always work
        return None


def install(app: FastAPI) -> None:
    for kind in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(kind, on_database_down)

