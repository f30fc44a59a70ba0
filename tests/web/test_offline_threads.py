"""Many devices syncing at once cannot hang a server process.

Each offline operation is replayed as a call to a sync route, which needs a thread of the
app's shared pool. Replays used to run in that pool too: with as many batches in flight as it
has threads, every thread waited for an inner call that could never get one (found by the load
test, bench/load.md). Here the shared pool has 3 threads and 8 batches arrive together.
"""

from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
import httpx

from cangliu.config import Settings
from cangliu.web.app import create_app
from tests.conftest import PASSWORD
from tests.e2e.conftest import serve_in_thread
from tests.web.test_offline_batch import available, op, receive

SHARED_THREADS = 3


class FewThreads:
    """The app with a shared thread pool of SHARED_THREADS (40 by default)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        anyio.to_thread.current_default_thread_limiter().total_tokens = SHARED_THREADS
        await self.app(scope, receive, send)


def test_more_concurrent_batches_than_threads_all_answer(db, network):
    app = create_app(Settings(database_url=db.url, secret_key="s"), db=db)
    with serve_in_thread(FewThreads(app)) as base:
        token = httpx.post(f"{base}/api/v1/auth/login", json={
            "username": "admin", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def sync(device: int) -> int:
            body = {"device": f"PDA-{device}", "operations": [op(1, "stock.receive", receive(1))]}
            return httpx.post(f"{base}/api/v1/offline/batch", json=body, headers=headers,
                              timeout=60).status_code

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(sync, range(8)))
        assert answers == [200] * 8
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
        assert available(db, "SKU-1", "WH") == 8
