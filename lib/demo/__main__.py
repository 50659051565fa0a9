"""Serve the demo CRM in the foreground: ``python -m lib.demo --port 8765 [--size 5000] ...``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lib.demo.server import DemoCRM


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lib.demo", description="Serve the demo v2 CRM.")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--size", type=int, default=5000, help="number of seeded leads")
    p.add_argument("--data-dir", type=Path, default=Path(".data"), help="where the SQLite file lives")
    p.add_argument("--token", default="demo-token", help="the bearer token clients must send")
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--style", choices=("ords", "links"), default="ords", help="paging envelope")
    p.add_argument("--prefix", default="", help="a path prefix for every endpoint, e.g. /ords/crm")
    p.add_argument(
        "--still",
        action="store_true",
        help="keep the demo still (by default a few new leads and status moves every few minutes)",
    )
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    crm = DemoCRM(
        args.data_dir,
        size=args.size,
        token=args.token,
        page_size=args.page_size,
        style=args.style,
        prefix=args.prefix,
        port=args.port,
        alive=not args.still,
    ).bind()
    print(f"Demo CRM ready in {time.perf_counter() - t0:.1f}s: {crm.db.count()} leads in {crm.db.path}")
    print(f"LEADS_BASE_URL={crm.base_url}")
    print(f"LEADS_TOKEN={crm.token}", flush=True)
    try:
        crm.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        crm.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
