"""A full sync through each connector against its fake on loopback: time, requests, and Kommo's rate limit.

    .venv/bin/python -m bench.connectors --size 3000

For Kommo it also reports the most requests the fake saw in any 1-second window and how many 429s it had
to send (the limit is 7 per second; the target is zero 429s).
"""

from __future__ import annotations

import argparse
import time

from lib.crm import connect
from tests.fakes.aiployees import AiployeesFake
from tests.fakes.kommo import KommoFake
from tests.fakes.livetex import LiveTexFake

FAKES = {"kommo": KommoFake, "aiployees": AiployeesFake, "livetex": LiveTexFake}


def busiest_second(times: list[float]) -> int:
    """The most request times falling in any window [t, t + 1 s)."""
    times, best, first = sorted(times), 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--only", choices=list(FAKES), default=None)
    args = parser.parse_args()
    print(f"{'connector':<10} {'leads':>7} {'requests':>8} {'seconds':>8} {'leads/s':>8}  notes")
    for name, fake in FAKES.items():
        if args.only and name != args.only:
            continue
        with fake(size=args.size) as crm:
            source = connect(name, base_url=crm.base_url, token=crm.token)
            start = time.perf_counter()
            frame = source.leads()
            seconds = time.perf_counter() - start
            notes = ""
            if name == "kommo":
                notes = (
                    f"busiest second {busiest_second([r.time for r in crm.requests])} requests, "
                    f"{crm.rate_limited} × 429"
                )
            print(f"{name:<10} {len(frame):>7,} {len(crm.requests):>8,} {seconds:>8.2f} "
                  f"{len(frame) / seconds:>8,.0f}  {notes}")  # fmt: skip


if __name__ == "__main__":
    main()
