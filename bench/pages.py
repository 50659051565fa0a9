"""Benchmark a dashboard page's rerun after a filter change, with AppTest, on the demo CRM.

Run:  .venv/bin/python -m bench.pages  [--sizes 100000 1000000] [--repeat 3] [--profile leads statuses]

For each size the app is started once (LEADS_DEMO_SIZE=size, LEADS_DATA_DIR=/tmp/leads-bench-pages-<size>)
so that the demo CRM is generated and the leads are synced and cached; that first load (about 90 s at
1,000,000) is reported but not measured against a target. Then, on each page, the "Created" preset in
the sidebar is switched (Last 90 days <-> Last 30 days) and `AppTest.run()` is timed: the whole rerun
(settings, cached data, sidebar filters, analytics, charts, tables and their CSV downloads). Best of
--repeat. Targets: 0.3 s at 100,000 leads, 1.5 s at 1,000,000 (issue 4, item 9).

--profile PAGE [PAGE …] also runs cProfile over one more rerun of each such page at each size (in the
thread AppTest runs the script in) and prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
PAGES = {
    "Overview": "pages/overview.py",
    "Funnel": "pages/funnel.py",
    "Statuses": "pages/statuses.py",
    "Marketing": "pages/marketing.py",
    "Leads": "pages/leads.py",
}
TARGETS = {100_000: 0.3, 1_000_000: 1.5}
PRESETS = ("Last 90 days", "Last 30 days")


def _environment(size: int) -> None:
    for key in [k for k in os.environ if k.startswith("LEADS_")]:
        del os.environ[key]
    os.environ["LEADS_DEMO_SIZE"] = str(size)
    os.environ["LEADS_DATA_DIR"] = f"/tmp/leads-bench-pages-{size}"
    os.environ["LEADS_SECRETS_FILE"] = "/nonexistent/secrets.toml"  # the developer's secrets stay out


def _check(at) -> None:
    if at.exception:
        raise RuntimeError(f"the page raised: {at.exception}")


def _change_filter(at, turn: int) -> None:
    at.sidebar.selectbox(key="f_preset").set_value(PRESETS[turn % 2])


def profile_rerun(at) -> cProfile.Profile:
    """cProfile of one `at.run()`, taken in the script thread AppTest starts for the run."""
    prof = cProfile.Profile()

    def start_in_new_thread(*_args) -> None:
        import sys

        sys.setprofile(None)
        prof.enable()

    threading.setprofile(start_in_new_thread)
    try:
        at.run()
    finally:
        threading.setprofile(None)
    return prof


def bench_size(size: int, repeat: int, profile: list[str]) -> tuple[float, dict[str, float], str]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    _environment(size)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=900)
    t0 = time.perf_counter()
    at.run()
    first_load = time.perf_counter() - t0
    _check(at)
    results: dict[str, float] = {}
    report = ""
    for name, path in PAGES.items():
        at.switch_page(path).run()  # the page's first run (imports, its own widgets) is not measured
        _check(at)
        times = []
        for turn in range(repeat):
            _change_filter(at, turn)
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
            _check(at)
        results[name] = min(times)
        print(f"  {size:>9,} {name:<10} " + "  ".join(f"{t:.3f}" for t in times), flush=True)
        if name.lower() in profile:
            _change_filter(at, repeat)
            prof = profile_rerun(at)
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out).strip_dirs()
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(15)
            report += f"\ncProfile of one {name} rerun at {size:,} leads:\n{out.getvalue()}"
    st.cache_data.clear()
    st.cache_resource.clear()  # stops this size's demo CRM server
    return first_load, results, report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--profile", metavar="PAGE", nargs="*", default=[], help="cProfile one rerun of these pages"
    )
    args = parser.parse_args()

    measured: dict[int, dict[str, float]] = {}
    loads: dict[int, float] = {}
    reports: list[str] = []
    for size in args.sizes:
        print(f"size {size:,}: first load (generate if needed, sync, cache)…", flush=True)
        loads[size], measured[size], report = bench_size(size, args.repeat, [p.lower() for p in args.profile])
        print(f"  first load {loads[size]:.1f} s", flush=True)
        if report:
            reports.append(report)

    print()
    print("| page | " + " | ".join(f"{s:,} leads (s)" for s in args.sizes) + " |")
    print("|---|" + "---:|" * len(args.sizes))
    for name in PAGES:
        cells = []
        for size in args.sizes:
            t = measured[size][name]
            target = TARGETS.get(size)
            verdict = "" if target is None else (" ✅" if t <= target else f" ❌ (target {target} s)")
            cells.append(f"{t:.3f}{verdict}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    print(
        "Targets: "
        + ", ".join(f"{t} s at {s:,}" for s, t in TARGETS.items())
        + f". Best of {args.repeat} reruns after switching the “Created” preset. First load (not measured): "
        + ", ".join(f"{loads[s]:.1f} s at {s:,}" for s in args.sizes)
        + "."
    )
    for report in reports:
        print(report)


if __name__ == "__main__":
    main()
