"""The server under test, started warm.

``python -m tests.crash.server PORT GO_FILE [--dbdown]`` imports the app, waits until GO_FILE
exists, then runs ``cangliu serve --port PORT`` itself (the Typer command, unchanged). Importing
takes seconds on a busy machine and never touches the database, so a replacement server can be
imported while the one it replaces still runs and open the database only after the crash.

With ``--dbdown`` it serves ``app`` below instead: the app ``cangliu serve`` runs, with the
database-down answers installed should create_app not install them itself.
"""

import sys
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from cangliu import cli
from cangliu.web import dbdown


def with_dbdown(application: FastAPI) -> FastAPI:
    if OperationalError not in application.exception_handlers:
        dbdown.install(application)
    return application


def app() -> FastAPI:
    return with_dbdown(cli.server_app())


def main(argv: list[str]) -> None:
    port, go = argv[0], Path(argv[1])
    while not go.exists():
        time.sleep(0.02)
    if "--dbdown" in argv:
        uvicorn.run("tests.crash.server:app", factory=True, host="127.0.0.1", port=int(port),
                    log_level="warning")
    else:
        cli.app(["serve", "--port", port])


if __name__ == "__main__":
    main(sys.argv[1:])
