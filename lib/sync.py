"""The sync engine: CRM -> lead store (lib.lead_store), in the background, never inside a page's request.

    result = sync_once(source, store, crm)          # one run: full or incremental, decided from the state
    print(result.as_json())                         # {"mode": "incremental", "requests": 3, ...}

    worker = SyncWorker(settings, lambda: connect_settings(settings), interval=300).start()
    worker.wake()                                   # "Sync now" in this process (others: store.request_sync)
    worker.stop()

    python -m lib.sync [--full] [--every 5m] [--json]       # cron / systemd; exit 1 on failure

One run (`sync_once`):
- takes the store's lease for this CRM (`SyncBusy` when another holder has an unexpired one; the lease is
  renewed at every page and released at the end, so exactly one process of all replicas syncs a CRM);
- decides the mode when `full` is None: FULL on the first sync, when the last full sync did not complete,
  or when it began before the latest `full_sync_at` (HH:MM in `tz`, e.g. nightly at 03:00); else
  INCREMENTAL from `watermark - overlap`, where the watermark is the largest `updated_at` the CRM itself
  sent in completed runs (the CRM's clock, never ours: no skew), and the overlap re-reads the last moments
  so a lead updated in the watermark's own second is never missed (re-reading an unchanged lead writes
  nothing); the overlap is at least as long as the last run took, since a lead changed while that run was
  paging may have been read before its change while later pages raised the watermark;
- saves the status catalogue, then writes the leads page by page as the connector yields them (one
  transaction per page: bounded memory, and a killed run leaves every committed page consistent);
  unchanged leads are not rewritten, each status change is one status_history row;
- after a COMPLETED full sync marks the live leads it did not see as deleted (never erased);
- only then advances the watermark (so the next run after an interrupted one redoes its work: the next full
  is still full, the next incremental starts from the old watermark) and records the run;
- on failure records a clean one-line message (never a token or password) in the run and the CRM's state,
  keeps every stored lead, and re-raises.

Connectors: `source.lead_pages(since, progress)` (an iterator of canonical frames, one per CRM page; with
`min_rows=BATCH_ROWS` when it takes that keyword, joining pages into frames of ~10,000 leads) when
the connector has it, else `source.leads(since, progress)` as a single page. `source.http.requests` (the
HttpClient's request counter) is used for `requests` when it exists (None otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import math
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from lib import clock
from lib.lead_store import LeadStore, from_us, lease_name

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=1)  # re-read what changed in the minute before the watermark
LEASE_TTL = 300.0  # seconds of the real clock a lease lasts without renewal (renewed every page)
PROGRESS_EVERY = 2.0  # seconds between progress updates (and lease renewals) while a page is being fetched
POLL = 2.0  # seconds between the worker's looks at the store for a "Sync now"
STORE_RETRY = 30.0  # seconds before the worker tries again to reach a store database that failed
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this process as a lease holder
BATCH_ROWS = 10_000  # leads per written frame when the connector can join its pages (lead_pages' min_rows)
RESULT_KEYS = ("mode", "requests", "fetched", "changed", "deleted", "status_changes", "total", "seconds")


class SyncBusy(Exception):
    """Another process holds the sync lease of this CRM (or took it over during the run)."""


@dataclass
class SyncResult:
    mode: str  # "full" or "incremental"
    requests: int | None  # HTTP requests sent to the CRM (None when the connector does not count them)
    fetched: int  # leads received from the CRM
    changed: int  # leads written (new, changed or undeleted)
    deleted: int  # leads newly marked deleted (full syncs only)
    status_changes: int  # status_history rows added
    total: int  # live (not deleted) leads of this CRM in the store afterwards
    seconds: float  # how long the run took (real time)

    def as_json(self) -> str:
        """One line of JSON with exactly RESULT_KEYS."""
        values = asdict(self)
        values["seconds"] = round(self.seconds, 3)
        return json.dumps({k: values[k] for k in RESULT_KEYS}, separators=(", ", ": "))


def latest_full_sync_time(now: datetime, full_sync_at: str = "03:00", tz: str = "Asia/Jerusalem") -> datetime:
    """The latest instant at or before `now` whose wall time in `tz` is `full_sync_at` (HH:MM)."""
    hour, minute = (int(p) for p in full_sync_at.split(":"))
    local = now.astimezone(ZoneInfo(tz))
    day = local.date()
    for back in range(3):
        candidate = pd.Timestamp(
            datetime(day.year, day.month, day.day, hour, minute) - timedelta(days=back)
        ).tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
        if candidate <= pd.Timestamp(now):
            return candidate.to_pydatetime()
    raise ValueError(f"no {full_sync_at} in the last days before {now}")  # pragma: no cover


def decide_mode(
    book: dict[str, Any],
    now: datetime,
    *,
    full: bool | None,
    overlap: timedelta,
    full_sync_at: str,
    tz: str,
) -> tuple[str, datetime | None]:
    """(mode, since) for a run given the store's bookkeeping (LeadStore.sync_bookkeeping)."""
    watermark = from_us(book["watermark"])
    if full is True:
        return "full", None
    if full is None:
        last_full = from_us(book["last_full_at"])
        if last_full is None or watermark is None:
            return "full", None
        if book["latest_full_run"] is not None and book["latest_full_run"] != book["last_full_run"]:
            return "full", None  # the last full sync did not complete
        if last_full < latest_full_sync_time(now, full_sync_at, tz):
            return "full", None
    if watermark is None:
        return "incremental", None
    # A lead changed while the last run was paging may have been read before its change, on a page read
    # early, while later pages raised the watermark past its new updated_at: reach back at least as long
    # as that run took.
    took = timedelta(seconds=math.ceil(book.get("last_seconds") or 0))
    return "incremental", watermark - max(overlap, took)


def lead_pages(
    source: Any, since: datetime | None, progress: Callable[[int, int], None]
) -> Iterator[pd.DataFrame]:
    """The connector's pages of canonical leads (lib.crm.base.Source.lead_pages), in bulk where it can."""
    pages = source.lead_pages
    if "min_rows" in inspect.signature(pages).parameters:  # bulk mode: fewer, bigger frames
        yield from pages(since=since, progress=progress, min_rows=BATCH_ROWS)
    else:
        yield from pages(since=since, progress=progress)


def request_count(source: Any) -> int | None:
    return getattr(getattr(source, "http", None), "requests", None)


_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")


def clean_error(exc: BaseException, secrets: tuple[str | None, ...] = ()) -> str:
    """A one-line message for a failed sync, without tokens or passwords."""
    from lib.db import DatabaseError
    from lib.errors import LeadsError

    text = str(exc).strip()
    if not text:
        text = type(exc).__name__
    elif not isinstance(exc, LeadsError | DatabaseError | SyncBusy):  # messages written for people
        text = f"{type(exc).__name__}: {text}"
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***@", _BEARER.sub(r"\1***", text))
    text = " ".join(text.split())
    return text if len(text) <= 500 else text[:499] + "…"


def sync_once(
    source: Any,
    store: LeadStore,
    crm: str,
    *,
    now: Callable[[], datetime] = clock.now,
    full: bool | None = None,
    overlap: timedelta = OVERLAP,
    holder: str = PROCESS,
    progress: Callable[[int, int], None] | None = None,
    full_sync_at: str = "03:00",
    tz: str = "Asia/Jerusalem",
    secrets: tuple[str | None, ...] = (),
) -> SyncResult:
    """One sync of `crm` from `source` into `store` (see the module docstring). `progress(pages, fetched)`
    is called after each page is committed; `secrets` are scrubbed from a recorded error message."""
    started_clock = time.monotonic()
    name = lease_name(crm)
    if not store.acquire_lease(name, holder, LEASE_TTL):
        raise SyncBusy(f"another process is syncing {crm}")
    run_id: int | None = None
    counts = {"fetched": 0, "changed": 0, "deleted": 0, "status_changes": 0, "pages": 0}
    unreadable: dict[str, int] = {}  # values the connector could not read, per column
    requests_before = request_count(source)
    last_beat = [time.monotonic()]

    def requests_sent() -> int | None:
        after = request_count(source)
        return None if after is None or requests_before is None else after - requests_before

    def heartbeat(text: str, force: bool = False) -> None:
        """Renew the lease and show progress (at most every PROGRESS_EVERY seconds unless forced)."""
        if not force and time.monotonic() - last_beat[0] < PROGRESS_EVERY:
            return
        last_beat[0] = time.monotonic()
        if not store.renew_lease(name, holder, LEASE_TTL):
            raise SyncBusy(f"the sync lease of {crm} was taken over by another process")
        assert run_id is not None
        store.update_run(run_id, progress=text, requests=requests_sent(), **counts)

    def fetching(pages: int, leads: int) -> None:
        heartbeat(f"fetching page {counts['pages'] + 1}: {leads} leads read")

    try:
        started = now()
        mode, since = decide_mode(
            store.sync_bookkeeping(crm), started, full=full, overlap=overlap, full_sync_at=full_sync_at, tz=tz
        )
        run_id = store.begin_run(crm, started_at=started, mode=mode, holder=holder)
        store.save_statuses(crm, source.statuses())
        top: int | None = None
        for frame in lead_pages(source, since, fetching):
            written = store.write_page(crm, frame, run_id=run_id, now=now(), full=mode == "full")
            counts["pages"] += 1
            counts["fetched"] += len(frame)
            counts["changed"] += written.changed
            counts["status_changes"] += written.status_changes
            for column, n in (frame.attrs.get("unreadable") or {}).items():
                unreadable[column] = unreadable.get(column, 0) + int(n)
            if written.max_updated_at is not None:
                top = written.max_updated_at if top is None else max(top, written.max_updated_at)
            heartbeat(f"page {counts['pages']} written: {counts['fetched']} leads", force=True)
            if progress:
                progress(counts["pages"], counts["fetched"])
        heartbeat("finishing", force=True)  # still ours? (a lease lost on the way must not mark deletions)
        if mode == "full":
            counts["deleted"] = store.mark_unseen_deleted(crm, run_id=run_id, now=now())
        total = store.live_count(crm)
        result = SyncResult(
            mode=mode,
            requests=requests_sent(),
            fetched=counts["fetched"],
            changed=counts["changed"],
            deleted=counts["deleted"],
            status_changes=counts["status_changes"],
            total=total,
            seconds=time.monotonic() - started_clock,
        )
        store.finish_run(
            crm,
            run_id,
            started_at=started,
            finished_at=now(),
            mode=mode,
            watermark_us=top,
            counts={
                **counts,
                "requests": result.requests,
                "total": total,
                "seconds": result.seconds,
                "unreadable": json.dumps(unreadable) if unreadable else None,
            },
        )
        return result
    except BaseException as exc:
        message = clean_error(exc, secrets)
        try:
            store.fail_run(
                crm,
                run_id,
                at=now(),
                error=message,
                counts={**counts, "requests": requests_sent(), "seconds": time.monotonic() - started_clock},
            )
        except Exception:  # the store itself failed: the original error matters more
            log.exception("could not record the failed sync of %s", crm)
        raise
    finally:
        try:
            store.release_lease(name, holder)
        except Exception:  # it expires on its own
            log.exception("could not release the sync lease of %s", crm)


class SyncWorker:
    """The background sync of one app process: a daemon thread that runs `sync_once` every `interval`
    seconds (0: only when asked), at once on start when the store has no completed sync, on `wake()`, and
    when any process called `LeadStore.request_sync` (it looks every POLL seconds with one small query).
    Another process syncing (SyncBusy) is skipped quietly; failures are recorded in the store (and in
    `last_error`), never raised. It opens its OWN Database so its transactions never block the pages'."""

    def __init__(
        self,
        settings: Any,
        source_factory: Callable[[], Any],
        *,
        interval: float | None = None,
        now: Callable[[], datetime] = clock.now,
        holder: str = PROCESS,
        poll: float = POLL,
        after_sync: Callable[[], Any] | None = None,
    ) -> None:
        """`after_sync`: called in the thread after each attempt (and at start when the store already holds
        a sync), e.g. to bring the pages' in-memory copy up to date before anyone asks (failures logged)."""
        self.after_sync = after_sync
        self.settings = settings
        self.source_factory = source_factory
        self.interval = float(settings.sync_interval if interval is None else interval)
        self.now = now
        self.holder = holder
        self.poll = poll
        self.last_result: SyncResult | None = None
        self.last_error: str | None = None
        self.attempts = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._source: Any = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SyncWorker:
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="leads-sync", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        """Run a sync as soon as possible (the current one, if any, finishes first)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """End the thread (after the run in progress, if any)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        from lib.db import open_database
        from lib.store import crm_key

        crm = crm_key(self.settings)
        store: LeadStore | None = None
        due = False
        next_at = time.monotonic() + self.interval if self.interval > 0 else float("inf")
        try:
            while not self._stop.is_set():
                try:
                    if store is None:  # (again, after the database failed)
                        store = LeadStore(open_database(self.settings.store_url))
                        due = due or store.state(crm).last_success_at is None
                        if not due:
                            self._after_sync()
                    asked = self._wake.is_set() or due or time.monotonic() >= next_at
                    if asked or store.sync_requested(crm) is not None:
                        self._wake.clear()
                        due = False
                        self._attempt(store, crm)
                        self._after_sync()
                        next_at = time.monotonic() + self.interval if self.interval > 0 else float("inf")
                        continue
                except Exception as exc:  # the store's database is down: say so, try again later
                    self.last_error = clean_error(exc)
                    log.warning("the background sync cannot use the store: %s", self.last_error)
                    if store is not None:
                        with contextlib.suppress(Exception):
                            store.db.close()
                    store = None
                    self._wake.wait(STORE_RETRY)
                    continue
                self._wake.wait(max(0.0, min(self.poll, next_at - time.monotonic())))
        finally:
            if store is not None:
                with contextlib.suppress(Exception):
                    store.db.close()

    def _after_sync(self) -> None:
        if self.after_sync is None or self._stop.is_set():
            return
        try:
            self.after_sync()
        except Exception as exc:  # the pages will read the store themselves
            log.warning("could not refresh the pages' copy after the sync: %s", clean_error(exc))

    def _attempt(self, store: LeadStore, crm: str) -> None:
        self.attempts += 1
        secrets = (getattr(self.settings, "token", None),)
        try:
            if self._source is None:
                self._source = self.source_factory()
            self.last_result = sync_once(
                self._source,
                store,
                crm,
                now=self.now,
                holder=self.holder,
                full_sync_at=getattr(self.settings, "full_sync_at", "03:00"),
                tz=getattr(self.settings, "timezone", "Asia/Jerusalem"),
                secrets=secrets,
            )
            self.last_error = None
        except SyncBusy:
            log.debug("another process is syncing %s", crm)
        except Exception as exc:
            self.last_error = clean_error(exc, secrets)
            log.warning("background sync of %s failed: %s", crm, self.last_error)
            if self._source is None:  # the CRM could not even be connected to: say so in the store
                try:
                    store.fail_run(crm, None, at=self.now(), error=self.last_error, counts={})
                except Exception:
                    log.exception("could not record the failed sync")
            self._source = None  # connect afresh next time


# -- command line -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lib.sync", description="Sync the configured CRM into the dashboard's lead store."
    )
    parser.add_argument("--full", action="store_true", help="a full sync (also marks deleted leads)")
    parser.add_argument("--every", metavar="DURATION", help="keep running, one sync every DURATION (e.g. 5m)")
    parser.add_argument("--json", action="store_true", help="print a one-line JSON summary of each sync")
    args = parser.parse_args(argv)

    from lib.config import load_settings, parse_duration
    from lib.crm import connect_settings
    from lib.db import open_database
    from lib.store import crm_key

    secrets: tuple[str | None, ...] = ()
    try:
        every = None
        if args.every:
            every = parse_duration(args.every)
            if not every or every <= 0:
                raise ValueError(f"--every must be a positive duration such as 5m (got {args.every!r})")
        settings = load_settings()
        secrets = (settings.token,)
        store = LeadStore(open_database(settings.store_url))
        source = connect_settings(settings)
        crm = crm_key(settings)
    except Exception as exc:
        print(f"sync failed: {clean_error(exc, secrets)}", file=sys.stderr)
        return 1
    status = 0
    while True:
        try:
            result = sync_once(
                source,
                store,
                crm,
                full=True if args.full else None,
                full_sync_at=settings.full_sync_at,
                tz=settings.timezone,
                secrets=secrets,
            )
            status = 0
            if args.json:
                print(result.as_json(), flush=True)
            else:
                print(
                    f"{result.mode} sync of {crm}: {result.fetched} fetched, {result.changed} changed, "
                    f"{result.deleted} deleted, {result.status_changes} status changes, {result.total} leads "
                    f"in {result.seconds:.1f} s",
                    flush=True,
                )
        except SyncBusy:
            print("another process is syncing this CRM; nothing to do", file=sys.stderr, flush=True)
            status = 0
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            print(f"sync failed: {clean_error(exc, secrets)}", file=sys.stderr, flush=True)
            status = 1
        if every is None:
            return status
        try:
            wait_or_requested(store, crm, every)
        except KeyboardInterrupt:
            return status


def wait_or_requested(store: LeadStore, crm: str, seconds: float, poll: float = POLL) -> bool:
    """Sleep `seconds`, or less when a page asks for a sync now (LeadStore.request_sync, looked at every
    `poll` seconds): how a separate sync service (`--every`) answers the app's "Sync now". Returns whether
    it was asked."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(poll, left))
        try:
            if store.sync_requested(crm) is not None:
                return True
        except Exception:  # the store is unreachable for a moment: the next sync will say so
            continue
    return False


__all__ = [
    "OVERLAP",
    "PROCESS",
    "RESULT_KEYS",
    "SyncBusy",
    "SyncResult",
    "SyncWorker",
    "clean_error",
    "decide_mode",
    "latest_full_sync_time",
    "main",
    "sync_once",
    "wait_or_requested",
]


if __name__ == "__main__":
    sys.exit(main())
