"""Benchmark: what CPython's cyclic garbage collector costs a page of the pipeline board (its cards at 100,000
deals), with CPython's defaults and then after `som_flow.tune_collector()` (what `som-flow serve` does once its
app is built): the collections' time per request by generation, from gc.callbacks, and the requests' CPU and wall
p50/p95/p99 in-process. The same data as bench/reads.py (its builder, on a throwaway PostgreSQL). Not a test.

Run: .venv/bin/python bench/collector.py [--scale 1.0] [--requests 300]
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import reads  # noqa: E402 - bench/reads.py builds the data

from som_flow import tune_collector  # noqa: E402
from som_flow.extensions import db  # noqa: E402


def measure(call, requests: int) -> dict:
    spent, count, started = [0.0, 0.0, 0.0], [0, 0, 0], [0.0]

    def watch(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[info["generation"]] += time.perf_counter() - started[0]
            count[info["generation"]] += 1

    gc.callbacks.append(watch)
    walls, cpus = [], []
    try:
        for _ in range(requests):
            w, c = time.perf_counter(), time.process_time()
            call()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
    finally:
        gc.callbacks.remove(watch)
    return {"gc": [s * 1000 / requests for s in spent], "collections": count,
            "wall": reads.percentiles(walls), "cpu": reads.percentiles(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    from tests.pgcluster import Cluster

    cluster = Cluster()
    try:
        admin_url = cluster.start()
        subprocess.run([str(Path(cluster.bindir, "createdb")), "-h", "127.0.0.1", "-p", str(cluster.port),  # noqa: S603 - our own createdb binary, fixed arguments
                        "-U", "postgres", "reads"], check=True)
        url = admin_url.rsplit("/", 1)[0] + "/reads"
        subprocess.run([str(reads.SOM_FLOW), "init"], env=reads._env(url), check=True,  # noqa: S603 - our own CLI
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        now = datetime.now(UTC).replace(microsecond=0)
        app = reads._app(url, now)
        with app.app_context():
            who = reads.fill(round(100_000 * args.scale), now)
            db.session.remove()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        client = reads.login_client(app, who["manager"])

        def board():
            with app.app_context():
                reads.check(client.get("/pipeline"), "/pipeline")

        for _ in range(10):
            board()
        print(f"GET /pipeline (manager, 20 cards a column) in-process, {args.requests} requests each, load "
              f"{open('/proc/loadavg').read().split()[0]}")
        print(f"{'collector':22s} {'gc ms/request gen0/1/2':>24s} {'collections':>14s} "
              f"{'wall p50/p95/p99 ms':>22s} {'CPU p50/p95/p99 ms':>22s}")
        for label, tune in (("CPython's defaults", None), ("tune_collector()", tune_collector)):
            if tune:
                tune()
            m = measure(board, args.requests)
            print(f"{label:22s} {'/'.join(f'{x:.2f}' for x in m['gc']):>24s} "
                  f"{'/'.join(map(str, m['collections'])):>14s} {'/'.join(f'{x:.1f}' for x in m['wall']):>22s} "
                  f"{'/'.join(f'{x:.1f}' for x in m['cpu']):>22s}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
