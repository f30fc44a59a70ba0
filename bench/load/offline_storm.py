"""Reproduce the offline-batch thread-pool deadlock: many concurrent ``POST /api/v1/offline/batch``
against ONE server process, then ask ``/health``.

The batch route is sync (it holds one of the process's 40 pool threads) and replays each
operation as an in-process REST call whose sync route needs another pool thread. With 40 batches
in flight no inner call can get a thread and the process stops answering. Needs the template
``run.py --keep-template`` leaves.

    .venv/bin/python bench/load/offline_storm.py --batches 200

The last line is one JSON object: answered / timed out batches and whether /health answered after.
"""

import argparse
import asyncio
import json
import os
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import run


async def storm(base: str, batches: int, timeout: float) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        login = await client.post("/api/v1/auth/login",
                                  json={"username": "clerk", "password": run.ADMIN_PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

        async def one(i: int) -> str:
            body = {"device": f"storm-{i}-{uuid.uuid4().hex[:6]}", "operations": [
                {"id": uuid.uuid4().hex, "seq": 1, "kind": "stock.move", "payload": {
                    "sku": "SKU-0001", "from_site": "WH-EAST", "to_site": "WH-EAST",
                    "bin": "WH-EAST-A01", "to_bin": "WH-EAST-B01", "qty": "1"}}]}
            try:
                return str((await client.post("/api/v1/offline/batch", json=body, headers=auth)).status_code)
            except httpx.HTTPError as exc:
                return type(exc).__name__

        started = time.perf_counter()
        answers = Counter(await asyncio.gather(*(one(i) for i in range(batches))))
        elapsed = time.perf_counter() - started
    try:
        health: int | str = httpx.get(f"{base}/health", timeout=10).status_code
    except httpx.HTTPError as exc:
        health = type(exc).__name__
    return {"batches": batches, "answers": dict(answers), "seconds": round(elapsed, 1),
            "health_after": health}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("CANGLIU_TEST_PG_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--template", default="bench_load_template")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=60, help="client timeout per batch, s")
    parser.add_argument("--log", default="/tmp/cangliu-offline-storm.log")
    args = parser.parse_args()
    if not run.exists(args.db, args.template):
        raise SystemExit(f"no template {args.template}: run bench/load/run.py --keep-template first")
    name = f"bench_load_storm_{uuid.uuid4().hex[:8]}"
    run.admin_sql(args.db, f'CREATE DATABASE "{name}" TEMPLATE "{args.template}"')
    port = run.free_port()
    log = run.Path(args.log)
    server = run.start([str(run.BIN / "cangliu"), "serve", "--port", str(port), "--workers", "1"],
                       run.env_for(run.db_url(args.db, name), "storm"), log)
    try:
        run.wait_until_up(f"http://127.0.0.1:{port}", server, log)
        report = asyncio.run(storm(f"http://127.0.0.1:{port}", args.batches, args.timeout))
    finally:
        run.stop(server)
        run.admin_sql(args.db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report["wedged"] = report["health_after"] != 200
    print(json.dumps(report))


if __name__ == "__main__":
    main()
