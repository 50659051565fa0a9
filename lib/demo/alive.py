"""The demo CRM comes alive: while it runs, new leads arrive and agents move statuses forward.

`tick(db, now)` is one step of that life at the instant `now`, deterministic for its minute: the same minute
always does the same thing, and a minute is applied at most once to a demo file (DemoDB.apply_tick keeps
the last ticked minute in the file's meta), so ticking twice in one minute does nothing the second time.

The rule, by the minute number m (minutes since 1970-01-01 UTC; a day is 1,440 minutes, so m % 10 is the
last digit of the minute of the hour in UTC, which any clock reading tells by hand):
- `CREATED_PER_MINUTE[m % 10]` new leads (0-2, 4 per 10 minutes), while the demo holds fewer than its
  seeded size + `max_growth` leads (then no more: a demo left running for weeks stays small). Their content
  (Hebrew, English, Russian and Arabic names, Israeli phones, messy UTMs, owners) comes from the demo's
  generator seeded by the minute; status "new", created_at = updated_at = now.
- `MOVED_PER_MINUTE[m % 10]` moves (5 per 10 minutes): leads picked at random (seeded by the minute) among
  the `RECENT_OPEN` newest leads in an open status, each one step forward along the funnel (FORWARD) or,
  one time in four (EXIT_SHARE), out of it (EXITS: a new lead turns out a duplicate or faulty, a contacted
  one not interested); updated_at = now. A lead updated after `now` is never moved back in time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from lib.demo import data
from lib.demo.data import (
    CONVERTED,
    DUPLICATE,
    FAULTY,
    FOLLOW_UP,
    IN_PROGRESS,
    INTERESTED,
    NEW,
    NO_ANSWER,
    NOT_INTERESTED,
    STATUS_IDS,
)
from lib.demo.db import DemoDB, TickPlan, TickState

# Lively enough to see within minutes, calm enough not to drown the seeded months: 24 new leads and 30
# moves an hour (the seed brings about 30 leads a day).
CREATED_PER_MINUTE = (1, 0, 0, 1, 0, 0, 0, 2, 0, 0)
MOVED_PER_MINUTE = (0, 1, 0, 0, 0, 1, 0, 2, 1, 0)
DEFAULT_MAX_GROWTH = 2000
RECENT_OPEN = 200
EXIT_SHARE = 0.25
# One step forward along the funnel (stages New -> Contacted -> Interested -> Customer, lib.roles): a new
# lead is taken in hand, an unanswered call is followed up, a handled lead becomes interested, an
# interested one a customer.
FORWARD = {
    NEW: IN_PROGRESS,
    IN_PROGRESS: INTERESTED,
    NO_ANSWER: FOLLOW_UP,
    FOLLOW_UP: INTERESTED,
    INTERESTED: CONVERTED,
}
# Out of the funnel: a new lead may turn out junk; a contacted one may not be interested.
EXITS = {
    NEW: (DUPLICATE, FAULTY),
    IN_PROGRESS: (NOT_INTERESTED,),
    NO_ANSWER: (NOT_INTERESTED,),
    FOLLOW_UP: (NOT_INTERESTED,),
    INTERESTED: (NOT_INTERESTED,),
}
OPEN_STATUS_IDS = tuple(STATUS_IDS[s] for s in FORWARD)
_INDEX = {status_id: i for i, status_id in enumerate(STATUS_IDS)}
_CONTENT_FIELDS = tuple(
    f for f in data.LEAD_FIELDS if f not in ("id", "lead_status", "created_at", "updated_at")
)
_BATCH = 20  # new leads are taken from a batch this big, so the generator's rare kinds stay rare


def minute_of(now: datetime) -> int:
    """Whole minutes since 1970-01-01T00:00Z of the aware instant `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(now.astimezone(UTC).timestamp() // 60)


def plan_tick(state: TickState, now: datetime, *, max_growth: int, seed: int = 7) -> TickPlan:
    """What the tick at `now` does to a demo in `state` (pure; see the module docstring for the rule)."""
    m = minute_of(now)
    stamp = data.format_local(now)
    rng = np.random.default_rng([seed, m])
    room = max(0, state.size + max_growth - state.count)
    n_new = min(CREATED_PER_MINUTE[m % 10], room)

    candidates = [(i, s) for i, s, updated in state.open_leads if not (updated and updated > stamp)]
    n_moves = min(MOVED_PER_MINUTE[m % 10], len(candidates))
    moves = []
    for k in rng.choice(len(candidates), size=n_moves, replace=False).tolist() if n_moves else []:
        lead_id, status_id = candidates[k]
        status = _INDEX[status_id]
        exits = EXITS[status]
        target = exits[int(rng.integers(len(exits)))] if rng.random() < EXIT_SHARE else FORWARD[status]
        moves.append((lead_id, STATUS_IDS[target], stamp))

    new = []
    if n_new:
        batch = data.generate_columns(_BATCH, now, seed=int(rng.integers(2**32)))
        last = int(state.max_id) if state.max_id else int(data.ID_PREFIX + f"{data.ID_COUNTER_START:015d}")
        for row in sorted(rng.choice(_BATCH, size=n_new, replace=False).tolist()):
            last += 1 + int(rng.integers(data.ID_MAX_STEP))
            lead = {f: batch[f][row] for f in _CONTENT_FIELDS}
            lead.update(id=str(last), lead_status=data.NEW_STATUS_ID, created_at=stamp, updated_at=stamp)
            lead["is_subscriber"] = 1 if lead["is_subscriber"] else 0
            new.append(lead)
    return TickPlan(new=new, moves=moves)


def tick(db: DemoDB, now: datetime, *, max_growth: int = DEFAULT_MAX_GROWTH, seed: int = 7) -> dict[str, int]:
    """Apply the tick of `now`'s minute to `db`: {"created": n, "moved": m} (both 0 when that minute, or a
    later one, was already ticked)."""
    m = minute_of(now)
    done = db.apply_tick(
        m, lambda state: plan_tick(state, now, max_growth=max_growth, seed=seed), OPEN_STATUS_IDS, RECENT_OPEN
    )
    if done is None:
        return {"created": 0, "moved": 0}
    return {"created": len(done.new), "moved": len(done.moves)}


__all__ = [
    "CREATED_PER_MINUTE",
    "DEFAULT_MAX_GROWTH",
    "EXITS",
    "FORWARD",
    "MOVED_PER_MINUTE",
    "OPEN_STATUS_IDS",
    "minute_of",
    "plan_tick",
    "tick",
]
