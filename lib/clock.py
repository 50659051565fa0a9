"""The dashboard's one clock: every "now" and "today" comes from here and is passed down.

``LEADS_NOW`` freezes it at an instant (ISO 8601 with an offset, e.g. ``2026-11-23T08:50:00+02:00``; an
instant without an offset is read as UTC). Tests pin it so that nothing depends on the hour, weekday or
date they run at; a demo can pin it to show a chosen moment. Unset, it is the real time.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

ENV = "LEADS_NOW"


class ClockError(ValueError):
    """LEADS_NOW is set but is not an instant."""


def frozen() -> datetime | None:
    """The instant LEADS_NOW pins the clock at (UTC), or None when the clock runs."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ClockError(
            f"{ENV}={raw!r} is not a date and time: use ISO 8601, e.g. 2026-11-23T08:50:00+02:00"
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def now() -> datetime:
    """Now, timezone-aware in UTC."""
    return frozen() or datetime.now(UTC)


def today(tz: str) -> date:
    """Today's date in the time zone `tz`."""
    return now().astimezone(ZoneInfo(tz)).date()
