"""Status history: speed to lead, time in stage and the flow between statuses.

The history frame has one row per status change the sync observed: ``lead_id`` (str), ``from_status_id``,
``to_status_id`` (str), ``observed_at`` (UTC: when the sync saw the change) and ``crm_updated_at`` (UTC,
may be NA: the lead's ``updated_at`` in the CRM at that moment, the best estimate of when the change
happened). History starts at the first sync (``since``): nothing before it is known and nothing before it
is invented. A new lead is not a history row: its creation time is ``created_at`` of the leads frame.

What the sync cannot see: when a lead changes twice between two syncs (A → B → C) the history holds one
row A → C, timed by the CRM's stamp of the last change; B never shows. A lead whose status changed before
the first sync that saw it has no row for that change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from lib.analytics._base import UNKNOWN_STATUS, _catalogue
from lib.analytics.breakdowns import NOT_A_GROUP
from lib.analytics.dimensions import _dimension

HISTORY_COLUMNS = ("lead_id", "from_status_id", "to_status_id", "observed_at", "crm_updated_at")
SMALL_GROUP = 10  # a group with fewer eligible leads than this is flagged: its shares swing by chance
_MINUTE = pd.Timedelta(minutes=1)
_HOUR = pd.Timedelta(hours=1)
# Python weekday numbers: Monday 0 ... Sunday 6. The Israeli week works Sunday to Thursday.
_THURSDAY, _FRIDAY, _SATURDAY = 3, 4, 5


def _utc(values: pd.Series) -> pd.Series:
    """Instants as a UTC datetime Series (NaT where unknown or unreadable)."""
    return pd.to_datetime(values, utc=True, errors="coerce")


def _instant(value) -> pd.Timestamp | None:
    """A bound as a UTC Timestamp (a naive one is read as UTC); None stays None."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def change_time(history: pd.DataFrame) -> pd.Series:
    """When each change happened, as well as it is known: the CRM's ``crm_updated_at`` where it gives
    one, else ``observed_at`` (when the sync saw it, at most one sync interval late). UTC, same index."""
    crm = _utc(history["crm_updated_at"]) if "crm_updated_at" in history else None
    seen = _utc(history["observed_at"])
    return seen if crm is None else crm.fillna(seen).rename(None)


def _is_change(history: pd.DataFrame) -> pd.Series:
    """False for a row whose status did not change (from = to, e.g. written twice): it is no change."""
    same = history["from_status_id"].astype("string") == history["to_status_id"].astype("string")
    return ~same.fillna(False).astype(bool)


def _ordered(history: pd.DataFrame, now) -> pd.DataFrame:
    """The changes observed by `now` (rows with from = to dropped) with ``lead_id``/status ids as strings
    and ``at`` (change_time), in the order the sync saw them per lead (``observed_at``, then the store's
    row order)."""
    h = pd.DataFrame(
        {
            "lead_id": history["lead_id"].astype("string"),
            "from_status_id": history["from_status_id"].astype("string"),
            "to_status_id": history["to_status_id"].astype("string"),
            "observed_at": _utc(history["observed_at"]),
            "at": change_time(history),
            "row": np.arange(len(history)),
        }
    )
    h = h[_is_change(h)]
    if now is not None:
        h = h[h["observed_at"] <= _instant(now)]
    return h.sort_values(["lead_id", "observed_at", "row"], kind="stable").reset_index(drop=True)


# -- speed to lead ------------------------------------------------------------------------------------


def working_day_deadline(created: pd.Series, tz: str) -> pd.Series:
    """Per creation instant (UTC), the instant by which handling it counts as "within 1 working day".

    The Israeli working week runs Sunday to Thursday. A lead created on a working day is due by the same
    clock time (in `tz`) on the next working day: Sunday 10:00 → Monday 10:00, Thursday 15:00 → Sunday
    15:00. A lead created on Friday or Saturday counts from Sunday 00:00, so it is due by Monday 00:00
    (handled any time on Sunday is in time). A clock time that does not exist on the due day (the spring
    DST gap) moves forward; one that happens twice (the autumn change) is the later of the two."""
    local = _utc(created).dt.tz_convert(tz).dt.tz_localize(None)
    weekday = local.dt.day_of_week
    midnight = local.dt.normalize()
    due = local + pd.Timedelta(days=1)
    due = due.mask(weekday == _THURSDAY, local + pd.Timedelta(days=3))
    due = due.mask(weekday == _FRIDAY, midnight + pd.Timedelta(days=3))
    due = due.mask(weekday == _SATURDAY, midnight + pd.Timedelta(days=2))
    later = np.zeros(len(due), dtype=bool)  # ambiguous wall time → standard time, the later instant
    out = due.dt.tz_localize(tz, ambiguous=later, nonexistent="shift_forward").dt.tz_convert("UTC")
    return out


def _first_changes(history: pd.DataFrame, now) -> pd.DataFrame:
    """Per lead with history: its first observed change (``first_from``, ``first_at``)."""
    h = _ordered(history, now)
    first = h.drop_duplicates("lead_id", keep="first")
    return first.set_index("lead_id")[["from_status_id", "at"]].rename(
        columns={"from_status_id": "first_from", "at": "first_at"}
    )


def _entry_statuses(first_from: pd.Series, statuses: pd.DataFrame) -> set[str]:
    """The statuses leads are created in: those the eligible leads' first changes left, and the open
    statuses at the catalogue's first stage (where a CRM puts a new lead)."""
    entry = {str(x) for x in first_from.dropna()}
    cat = _catalogue(statuses)
    if "role" in cat and "stage" in cat:
        is_open = cat["role"].astype("string").str.casefold().fillna("open") == "open"
        stage = pd.to_numeric(cat["stage"], errors="coerce")
        if (is_open & stage.notna()).any():
            first_stage = stage[is_open].min()
            entry |= set(cat.loc[is_open & (stage == first_stage), "status_id"].astype(str))
    return entry


def _quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile with linear interpolation between the closest ranks (pandas' default); NaN if empty."""
    return float(np.quantile(values, q)) if values.size else float("nan")


def speed_to_lead(
    leads: pd.DataFrame,
    history: pd.DataFrame,
    statuses: pd.DataFrame,
    *,
    since,
    now,
    tz: str,
    by: str | None = None,
    aliases: Mapping[str, str] | None = None,
    min_leads: int = SMALL_GROUP,
) -> pd.DataFrame:
    """How fast new leads are handled: the time from a lead's creation (``created_at``) to its first
    status change, i.e. away from the status it was created in (the ``from_status_id`` of its first
    history row; its time is ``change_time``).

    Only leads created at or after `since` (the first sync) are **eligible**: for an older lead the first
    change may have happened before the history started. With `since` None (no sync yet) no lead is.
    An eligible lead without history rows whose status now is not one leads are created in (see
    ``_entry_statuses``: a status the eligible leads' first changes left, or an open first-stage status)
    changed before the sync first saw it, at a time nobody knows: it counts in ``changed_unseen`` and is
    left out of every figure below rather than given an invented time.

    **Censoring.** A lead created 20 minutes ago and not handled yet has not failed the 1-hour rule: it
    still may pass. So each rule's share counts a lead only once it can be judged: when it was handled in
    time (a success), or when the deadline has passed by `now` (handled late or not at all: a failure).
    Leads still inside their deadline and not handled yet are left out of that share (and counted again
    once judged). ``within_1h`` = handled by 1 hour after creation ÷ leads judged for that rule;
    ``within_1_working_day`` the same with the deadline of ``working_day_deadline`` (Sunday to Thursday
    in `tz`). A change stamped before its lead's creation (clocks differ) counts as 0 minutes.

    Returns one row (``by`` None) or one per group of ``by`` (``"owner"``, ``"utm_source"`` normalised
    with `aliases` like the Marketing page, or any lead column), only groups with eligible leads, most
    first, ``(none)``/``(unassigned)`` last: the group column, ``leads`` (eligible), ``handled``,
    ``changed_unseen``, ``median_minutes`` and ``p90_minutes`` (of the handled leads' times; quantiles
    interpolate linearly between ranks; NaN when none), ``judged_1h``, ``within_1h``,
    ``judged_1_working_day``, ``within_1_working_day`` (shares 0..1, NaN when nothing can be judged yet)
    and ``small`` (fewer than `min_leads` eligible leads: read its shares with care)."""
    now = _instant(now)
    created = _utc(leads["created_at"])
    since = _instant(since)
    eligible = created.notna() & (created >= since) if since is not None else pd.Series(False, leads.index)
    sub = leads[eligible.to_numpy()]
    born = created[eligible]
    first = _first_changes(history, now)
    ids = sub["lead_id"].astype("string")
    mine = first.reindex(pd.Index(ids))  # per eligible lead, in its order: its first change or NA
    first_at = _utc(pd.Series(mine["first_at"].to_numpy(), index=sub.index))
    handled = first_at.notna().to_numpy()
    entry = _entry_statuses(mine["first_from"], statuses)
    unseen = ~handled & ~sub["status_id"].astype("string").isin(entry).fillna(False).to_numpy(dtype=bool)
    minutes = ((first_at - born) / _MINUTE).clip(lower=0).to_numpy(dtype=float)
    deadline = working_day_deadline(born, tz)
    in_1h = handled & (minutes <= 60)
    in_day = handled & (first_at <= deadline).to_numpy(dtype=bool)
    hour_over = (now - born >= _HOUR).to_numpy(dtype=bool)
    day_over = (deadline <= now).to_numpy(dtype=bool)
    judged_1h = ~unseen & (in_1h | hour_over)
    judged_day = ~unseen & (in_day | day_over)

    if by is None:
        codes, labels = np.zeros(len(sub), dtype=np.int64), [None]
    else:
        codes, labels = _dimension(sub, by, statuses, aliases)
    rows = []
    for g, label in enumerate(labels):
        m = codes == g
        n = int(m.sum())
        if not n:
            continue
        times = minutes[m & handled]
        j1, jd = int((m & judged_1h).sum()), int((m & judged_day).sum())
        rows.append(
            {
                **({by: label} if by is not None else {}),
                "leads": n,
                "handled": int((m & handled).sum()),
                "changed_unseen": int((m & unseen).sum()),
                "median_minutes": _quantile(times, 0.5),
                "p90_minutes": _quantile(times, 0.9),
                "judged_1h": j1,
                "within_1h": (m & in_1h).sum() / j1 if j1 else float("nan"),
                "judged_1_working_day": jd,
                "within_1_working_day": (m & in_day).sum() / jd if jd else float("nan"),
                "small": n < min_leads,
            }
        )
    columns = [*([by] if by is not None else []), "leads", "handled", "changed_unseen", "median_minutes",
               "p90_minutes", "judged_1h", "within_1h", "judged_1_working_day", "within_1_working_day",
               "small"]  # fmt: skip
    if by is None and not rows:  # one row, even with no eligible lead
        rows.append({"leads": 0, "handled": 0, "changed_unseen": 0, "judged_1h": 0, "judged_1_working_day": 0,
                     "small": True})  # fmt: skip
    out = pd.DataFrame(rows, columns=columns)
    ints = ["leads", "handled", "changed_unseen", "judged_1h", "judged_1_working_day"]
    floats = ["median_minutes", "p90_minutes", "within_1h", "within_1_working_day"]
    out = out.astype({**dict.fromkeys(ints, "int64"), **dict.fromkeys(floats, "float64"), "small": bool})
    if by is not None:
        out[by] = out[by].astype("string")
        last = out[by].isin(NOT_A_GROUP).to_numpy()
        order = np.lexsort((out[by].to_numpy(dtype=object), -out["leads"].to_numpy(), last))
        out = out.iloc[order].reset_index(drop=True)
    return out


# -- time in stage -------------------------------------------------------------------------------------


def _names(statuses: pd.DataFrame) -> dict[str, str]:
    cat = _catalogue(statuses)
    return dict(zip(cat["status_id"].astype(str), cat["status"].astype(str), strict=True))


def time_in_stage(history: pd.DataFrame, statuses: pd.DataFrame, *, now) -> pd.DataFrame:
    """How long leads stay in each status before they leave it.

    A stay starts with a change into the status and ends with the lead's next change, when that change
    leaves the same status (so its start and end were both observed; a stay in the status a lead was
    created in started before any history row and is not counted here: speed to lead covers it). A stay
    whose next change leaves another status (the lead moved on between two syncs, unseen) has no known end
    and is dropped. Rows observed after `now` are ignored; a stay whose end is stamped before its start
    (clocks differ) lasts 0 hours.

    Returns ``status_id, status`` (the catalogue name, ``(unknown status)`` when not in it), ``stays``
    (ended stays), ``median_hours``, ``p90_hours`` (of the ended stays; linear interpolation between ranks;
    NaN when none), ``still_in`` (stays not ended by `now`, not in the median: a lead there may stay
    long yet). One row per status with a stay, in catalogue order, unknown statuses last."""
    h = _ordered(history, now)
    nxt = h.groupby("lead_id", sort=False).shift(-1)
    ended = nxt["from_status_id"].notna() & (nxt["from_status_id"] == h["to_status_id"])
    still = nxt["from_status_id"].isna()
    hours = ((nxt["at"] - h["at"]) / _HOUR).clip(lower=0)
    names = _names(statuses)
    order = {sid: i for i, sid in enumerate(names)}
    rows = []
    for sid in sorted(set(h["to_status_id"].dropna()), key=lambda s: (order.get(s, len(order)), s)):
        m = (h["to_status_id"] == sid).to_numpy()
        done = hours[m & ended.to_numpy()].to_numpy(dtype=float)
        rows.append(
            {
                "status_id": sid,
                "status": names.get(sid, UNKNOWN_STATUS),
                "stays": done.size,
                "median_hours": _quantile(done, 0.5),
                "p90_hours": _quantile(done, 0.9),
                "still_in": int((m & still.to_numpy()).sum()),
            }
        )
    out = pd.DataFrame(
        rows, columns=["status_id", "status", "stays", "median_hours", "p90_hours", "still_in"]
    )
    return out.astype(
        {"status_id": "string", "status": "string", "stays": "int64", "median_hours": "float64",
         "p90_hours": "float64", "still_in": "int64"}
    )  # fmt: skip


# -- status flow ---------------------------------------------------------------------------------------


def status_flow(
    history: pd.DataFrame, statuses: pd.DataFrame, *, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    """How many changes went from each status to each other one in the period: ``change_time`` in
    [`start`, `end`) (instants; a naive one is read as UTC; None leaves that side open). A row whose
    from and to are the same status is no change and is not counted (here or in the other functions).

    Returns ``from_status_id, from_status, to_status_id, to_status, changes`` (names from the catalogue,
    ``(unknown status)`` when not in it), most changes first, ties in catalogue order of from, then to."""
    at = change_time(history)
    keep = at.notna() & _is_change(history)
    if (lo := _instant(start)) is not None:
        keep &= at >= lo
    if (hi := _instant(end)) is not None:
        keep &= at < hi
    pairs = pd.DataFrame(
        {
            "from_status_id": history["from_status_id"].astype("string")[keep],
            "to_status_id": history["to_status_id"].astype("string")[keep],
        }
    )
    counts = pairs.groupby(["from_status_id", "to_status_id"], dropna=False).size().rename("changes")
    out = counts.reset_index()
    names = _names(statuses)
    order = {sid: i for i, sid in enumerate(names)}
    for side in ("from", "to"):
        ids = out[f"{side}_status_id"]
        shown = [names.get(s, UNKNOWN_STATUS) if isinstance(s, str) else UNKNOWN_STATUS for s in ids]
        out[f"{side}_status"] = pd.array(shown, dtype="string")
        out[f"_{side}"] = [order.get(s, len(order)) if isinstance(s, str) else len(order) + 1 for s in ids]
    out = out.sort_values(["changes", "_from", "_to"], ascending=[False, True, True], kind="stable")
    out = out[["from_status_id", "from_status", "to_status_id", "to_status", "changes"]]
    return out.astype({"changes": "int64"}).reset_index(drop=True)


# -- readable durations --------------------------------------------------------------------------------


def readable_minutes(minutes: float | None) -> str:
    """A duration as a manager reads it: "45 min", "1 h 20 min", "3 h", "2 d 4 h" (rounded to the minute,
    to the hour from 2 days on); "—" when unknown."""
    if minutes is None or pd.isna(minutes):
        return "—"
    total = round(float(minutes))
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    hours = round(total / 60)
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
