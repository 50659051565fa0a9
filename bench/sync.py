"""Sync benchmarks (issue 11): the demo CRM through the real v2 client over loopback HTTP into the lead store.

    .venv/bin/python -m bench.sync full --size 100000         # a. full first sync into a fresh store
    .venv/bin/python -m bench.sync incremental --size 100000  # b. full, 1 % changed in the demo, incremental
    .venv/bin/python -m bench.sync restart --size 1000000     # c. full, then a fresh process to a chart
    .venv/bin/python -m bench.sync kommo --size 20000         # d. Kommo fake: first sync vs 100 changed
    .venv/bin/python -m bench.sync all                        # a-d at the issue's sizes (100k, 1M, 20k)
    .venv/bin/python -m bench.sync fetch --size 100000        # the old benchmark: a full read into a frame

Options: --size N, --page-size N (demo page size, 1,000), --data-dir DIR (reuse a seeded demo: the demo's
SQLite file lives there, keyed by size; the lead store goes to DIR/store-N, made fresh for every full sync),
--changed N (b: default 1 % of --size; d: default 100).

Processes: the demo CRM runs in its own process (`python -m lib.demo --port 0 --still ...`; its start,
i.e. seeding, is timed separately and not counted); every sync runs in a fresh child process of this
script, so its peak RSS (ru_maxrss of that child alone) is the syncing process's. The restart (c) is a
fresh child too, timed from before it is spawned to its exit: interpreter start, imports, Store.open,
LeadCache.leads() (as lib/ui/data.py builds it), analytics.status_breakdown and charts.status_bar_chart;
once without a snapshot (cold: the cache folder removed) and once with the snapshot the first run wrote.
The Kommo fake (d) runs in this process on loopback, as in bench.connectors.

Each command prints Markdown table rows (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRM = "bench"  # the store's key for the benchmarked CRM


# -- children (run in a fresh process each) ------------------------------------------------------------


def _child_sync(args: argparse.Namespace) -> None:
    """One sync_once of the demo at --url into the store in --store-dir; prints one JSON line."""
    from lib.crm import V2Source
    from lib.crm.http import HttpClient
    from lib.db import open_database, sqlite_url
    from lib.lead_store import LeadStore
    from lib.sync import sync_once

    store = LeadStore(open_database(sqlite_url(args.store_dir)))
    source = V2Source(HttpClient(args.url, args.token))
    result = sync_once(source, store, CRM, full=True if args.mode == "full" else None)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**json.loads(result.as_json()), "rss_mb": rss}), flush=True)


def _child_restart(args: argparse.Namespace) -> None:
    """An app's restart: open the store, build the LeadCache frame, compute and draw a first chart."""
    t0 = time.perf_counter()
    from lib import analytics, charts
    from lib.db import sqlite_url
    from lib.lead_cache import LeadCache
    from lib.lead_store import LeadStore
    from lib.store import Store

    t1 = time.perf_counter()
    store_dir = Path(args.store_dir)
    lead_store = LeadStore(Store.open(sqlite_url(store_dir)).db)
    cache = LeadCache(lead_store, CRM, store_dir / "cache")
    leads = cache.leads()
    t2 = time.perf_counter()
    statuses = lead_store.statuses(CRM)
    breakdown = analytics.status_breakdown(leads, statuses)
    fig = charts.status_bar_chart(breakdown, charts.status_colors(statuses))
    t3 = time.perf_counter()
    assert len(fig.data) and int(breakdown["leads"].sum()) == len(leads)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"leads": len(leads), "imports": t1 - t0, "frame": t2 - t1, "chart": t3 - t2, "rss_mb": rss}
    print(json.dumps(out), flush=True)


def _run_child(*argv: str) -> tuple[dict, float]:
    """Run this script as a child with `argv`; its JSON line and the wall seconds from spawn to exit."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"child {argv[0]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


# -- the demo CRM in its own process -------------------------------------------------------------------


class DemoProcess:
    """`python -m lib.demo --port 0 --still` in a child process; seeding time = until it is ready."""

    def __init__(self, data_dir: Path, size: int, page_size: int) -> None:
        self.data_dir, self.size, self.page_size = data_dir, size, page_size

    def __enter__(self) -> DemoProcess:
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lib.demo", "--port", "0", "--still", "--data-dir", str(self.data_dir),
             "--size", str(self.size), "--page-size", str(self.page_size)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        found: dict[str, str] = {}
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            key, _, value = line.strip().partition("=")
            if key in ("LEADS_BASE_URL", "LEADS_TOKEN"):
                found[key] = value
            if len(found) == 2:
                break
        if len(found) != 2:
            self.proc.kill()
            sys.exit("the demo CRM did not start")
        self.seconds = time.perf_counter() - t0
        self.url, self.token = found["LEADS_BASE_URL"], found["LEADS_TOKEN"]
        self.db_path = self.data_dir / "demo_crm.sqlite3"
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _demo_dir(args: argparse.Namespace, size: int) -> Path:
    base = args.data_dir or Path(tempfile.gettempdir()) / "bench-sync"
    path = base / f"demo-{size}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fresh_store(args: argparse.Namespace, size: int) -> Path:
    base = args.data_dir or Path(tempfile.gettempdir()) / "bench-sync"
    path = base / f"store-{size}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _sync(demo: DemoProcess, store_dir: Path, mode: str) -> dict:
    result, _ = _run_child("_sync", "--url", demo.url, "--token", demo.token, "--store-dir", str(store_dir),
                           "--mode", mode)  # fmt: skip
    return result


def change_demo_leads(db_path: Path, changed: int, seed: int = 11) -> int:
    """Move `changed` random leads of the demo's SQLite file to another status, updated now (as a CRM user
    would); returns how many rows changed."""
    from lib.demo import data

    rng = random.Random(seed)
    statuses = [s["id"] for s in data.STATUSES]
    stamp = data.format_local(datetime.now(UTC))
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        (count,) = conn.execute("SELECT count(*) FROM leads").fetchone()
        seqs = rng.sample(range(1, count + 1), changed)
        rows = conn.execute(
            f"SELECT seq, lead_status FROM leads WHERE seq IN ({', '.join('?' * len(seqs))})", seqs
        ).fetchall()
        moves = [(rng.choice([s for s in statuses if s != old]), stamp, seq) for seq, old in rows]
        with conn:
            conn.executemany("UPDATE leads SET lead_status = ?, updated_at = ? WHERE seq = ?", moves)
    finally:
        conn.close()
    return len(moves)


# -- the benchmarks --------------------------------------------------------------------------------------

FULL_HEADER = (
    "| benchmark | leads | seed s | seconds | requests | changed | status changes | peak RSS MB |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|"
)


def _row(name: str, r: dict, seed: float | None) -> str:
    seed_text = "–" if seed is None else f"{seed:.1f}"
    return (
        f"| {name} | {r['total']:,} | {seed_text} | {r['seconds']:.2f} | {r['requests']:,} "
        f"| {r['changed']:,} | {r['status_changes']:,} | {r['rss_mb']:.0f} |"
    )


def bench_full(args: argparse.Namespace, size: int) -> None:
    with DemoProcess(_demo_dir(args, size), size, args.page_size) as demo:
        result = _sync(demo, _fresh_store(args, size), "full")
    print(_row("full first sync (v2 demo)", result, demo.seconds), flush=True)


def bench_incremental(args: argparse.Namespace, size: int) -> None:
    changed = args.changed or max(1, size // 100)
    with DemoProcess(_demo_dir(args, size), size, args.page_size) as demo:
        store_dir = _fresh_store(args, size)
        first = _sync(demo, store_dir, "full")
        print(_row("full first sync (v2 demo)", first, demo.seconds), flush=True)
        time.sleep(1.1)  # the changes land in a later second than anything the full sync saw
        change_demo_leads(demo.db_path, changed)
        result = _sync(demo, store_dir, "auto")
        assert result["mode"] == "incremental", result
    print(_row(f"incremental, {changed:,} changed (v2 demo)", result, None), flush=True)


def bench_restart(args: argparse.Namespace, size: int) -> None:
    with DemoProcess(_demo_dir(args, size), size, args.page_size) as demo:
        store_dir = _fresh_store(args, size)
        first = _sync(demo, store_dir, "full")
    print(_row("full first sync (v2 demo)", first, demo.seconds), flush=True)
    print()
    print("| restart to first chart | leads | wall s (spawn to exit) | imports s | LeadCache.leads() s "
          "| chart s | peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    shutil.rmtree(store_dir / "cache", ignore_errors=True)
    for name in ("cold (no snapshot)", "with the snapshot"):
        r, wall = _run_child("_restart", "--store-dir", str(store_dir))
        print(f"| {name} | {r['leads']:,} | {wall:.2f} | {r['imports']:.2f} | {r['frame']:.2f} "
              f"| {r['chart']:.2f} | {r['rss_mb']:.0f} |", flush=True)  # fmt: skip


def bench_kommo(args: argparse.Namespace, size: int) -> None:
    from bench.connectors import busiest_second
    from lib.crm import connect
    from lib.db import open_database, sqlite_url
    from lib.lead_store import LeadStore
    from lib.sync import sync_once
    from tests.fakes.kommo import KommoFake

    changed = args.changed or 100
    store_dir = _fresh_store(args, f"kommo-{size}")
    store = LeadStore(open_database(sqlite_url(store_dir)))
    print("| Kommo fake | leads | requests | seconds | changed | status changes | busiest second | 429s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with KommoFake(size=size) as crm:
        source = connect("kommo", base_url=crm.base_url, token=crm.token)
        for name in ("first sync", f"{changed:,} changed"):
            if name != "first sync":
                time.sleep(1.1)
                rng = random.Random(5)
                by_pipeline: dict = {}
                for lead in crm.leads:
                    by_pipeline.setdefault(lead["pipeline_id"], set()).add(lead["status_id"])
                now = int(time.time())
                for lead in rng.sample(crm.leads, changed):
                    others = sorted(by_pipeline[lead["pipeline_id"]] - {lead["status_id"]})
                    lead["status_id"] = rng.choice(others)
                    lead["updated_at"] = now
            crm.requests.clear()
            limited = crm.rate_limited
            r = sync_once(source, store, CRM, full=None)
            busiest = busiest_second([q.time for q in crm.requests])
            print(f"| {name} ({r.mode}) | {r.total:,} | {len(crm.requests):,} | {r.seconds:.1f} "
                  f"| {r.changed:,} | {r.status_changes:,} | {busiest} | {crm.rate_limited - limited} |",
                  flush=True)  # fmt: skip


def bench_fetch(args: argparse.Namespace, size: int) -> None:
    """The old benchmark (issue 4): a full read of the demo into one canonical frame, no store."""
    from lib.crm import V2Source
    from lib.crm.http import HttpClient
    from lib.demo.server import DemoCRM

    t0 = time.perf_counter()
    with DemoCRM(_demo_dir(args, size), size=size, page_size=args.page_size) as crm:
        seeded = time.perf_counter() - t0
        source = V2Source(HttpClient(crm.base_url, crm.token))
        pages = {"n": 0}
        t1 = time.perf_counter()
        items = source.lead_items(progress=lambda p, n: pages.__setitem__("n", p))
        fetched = time.perf_counter() - t1
        t2 = time.perf_counter()
        frame = source.to_frame(items, source.statuses())
        parsed = time.perf_counter() - t2
    total = fetched + parsed
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| leads | pages | seed s | fetch s | to canonical s | sync s | leads/s | frame MB | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {len(frame):,} | {pages['n']:,} | {seeded:.1f} | {fetched:.2f} | {parsed:.2f} | {total:.2f} "
        f"| {len(frame) / total:,.0f} | {frame.memory_usage(deep=True).sum() / 2**20:.0f} | {rss:.0f} |"
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("_sync", "_restart"):  # a child process
        child = argparse.ArgumentParser()
        child.add_argument("what")
        child.add_argument("--url")
        child.add_argument("--token")
        child.add_argument("--store-dir", type=Path)
        child.add_argument("--mode", default="auto")
        cargs = child.parse_args(argv)
        (_child_sync if cargs.what == "_sync" else _child_restart)(cargs)
        return
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "what", nargs="?", default="full", choices=["full", "incremental", "restart", "kommo", "all", "fetch"]
    )
    parser.add_argument("--size", type=int, default=None, help="leads (default: the issue's size)")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a seeded demo database")
    parser.add_argument("--changed", type=int, default=None)
    args = parser.parse_args(argv)
    os.environ.pop("LEADS_NOW", None)  # the real clock: the demo's leads are stamped with it
    defaults = {"full": 100_000, "incremental": 100_000, "restart": 1_000_000, "kommo": 20_000, "fetch": 5000}
    if args.what == "all":
        print(FULL_HEADER)
        bench_incremental(args, 100_000)
        bench_restart(args, 1_000_000)  # its full sync of 1,000,000 is benchmark a at that size
        print()
        bench_kommo(args, 20_000)
        return
    size = args.size or defaults[args.what]
    if args.what in ("full", "incremental", "restart"):
        print(FULL_HEADER)
    {"full": bench_full, "incremental": bench_incremental, "restart": bench_restart, "kommo": bench_kommo,
     "fetch": bench_fetch}[args.what](args, size)  # fmt: skip


if __name__ == "__main__":
    main()
