"""Running one call on several threads at the same moment, for the race tests."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cangliu.db.uow import Database


def workers(db: Database) -> int:
    return 4 if db.dialect == "sqlite" else 8


def race(db: Database, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(i)`` on every worker at the same moment; what each returned or raised."""
    n = workers(db)
    start = threading.Barrier(n, timeout=30)

    def worker(i: int) -> Any:
        start.wait()
        try:
            return call(i)
        except Exception as exc:  # handed back to the test, which asserts on its type
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(worker, range(n)))
