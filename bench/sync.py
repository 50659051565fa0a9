"""How long a full sync of the demo CRM takes through the real v2 client over loopback HTTP.

    .venv/bin/python -m bench.sync --size 100000 [--page-size 1000]

Seeding the demo database is timed separately and not counted in the sync.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from lib.crm import V2Source
from lib.crm.http import HttpClient
from lib.demo.server import DemoCRM


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a seeded demo database")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-sync-"))
    t0 = time.perf_counter()
    with DemoCRM(data_dir, size=args.size, page_size=args.page_size) as crm:
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


if __name__ == "__main__":
    main()
