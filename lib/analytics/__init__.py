"""The dashboard's numbers: pure pandas functions, a canonical frame in, a small DataFrame (or dict) out.

No Streamlit here. Every function works on the few distinct values of a column (categorical codes,
integer keys, ``np.bincount``) rather than on a million strings, so a million leads take milliseconds.

Conventions shared by every function:
- ``leads`` is a canonical leads frame (``lib.schema``), ``statuses`` a status catalogue with ``role`` and
  ``stage`` filled in (``lib.roles.with_default_roles`` or the user's overrides).
- A lead whose ``status_id`` is missing or not in the catalogue counts as an **open** lead at the first
  funnel stage (it exists, we just do not know where it stands); ``status_breakdown`` lists it on its own row.
- Time is stored in UTC and bucketed in the display time zone ``tz``; a date bound means whole days there.
  Weeks start on **Sunday** (the Israeli working week), months on the 1st.
- Missing or empty UTM values read ``(none)``; a missing owner reads ``(unassigned)``.

The package holds one module per concern (periods, kpis, timeseries, utm, channels, statuses, funnel,
breakdowns, cohorts, filters, search, roi, goals, history); this module re-exports their public functions,
so callers write ``from lib import analytics`` and ``analytics.funnel(...)``.
"""

from lib.analytics._base import (
    FREQS,
    NONE,
    OTHER,
    UNASSIGNED,
    UNKNOWN_STATUS,
)
from lib.analytics.breakdowns import (
    BREAKDOWN_METRICS,
    NOT_A_GROUP,
    RATE_SAMPLES,
    comparable,
    leaders,
    utm_breakdown,
    wilson_interval,
)
from lib.analytics.channels import (
    AFFILIATE_MEDIA,
    CHANNEL_RULES,
    CHANNELS,
    CLICK_IDS,
    DIRECT_MEDIA,
    DISPLAY_MEDIA,
    EMAIL_MEDIA,
    REFERRAL_MEDIA,
    SEARCH_SOURCES,
    SOCIAL_MEDIA,
    SOCIAL_SOURCES,
    SOURCE_CATEGORIES,
    channel,
    channel_of,
    click_platform,
    referrer_host,
    source_category,
)
from lib.analytics.cohorts import (
    cohort_table,
)
from lib.analytics.filters import (
    LeadFilter,
    filter_leads,
    filter_options,
)
from lib.analytics.funnel import (
    funnel,
    funnel_by,
)
from lib.analytics.goals import (
    GOAL_METRICS,
    clean_goals,
    goal_progress,
    month_bounds,
    month_key,
    share_of_month_gone,
)
from lib.analytics.history import (
    HISTORY_COLUMNS,
    SMALL_GROUP,
    change_time,
    readable_minutes,
    speed_to_lead,
    status_flow,
    time_in_stage,
    working_day_deadline,
)
from lib.analytics.kpis import (
    period_kpis,
)
from lib.analytics.periods import (
    DATE_PRESETS,
    in_period,
    preset_range,
    previous_start,
)
from lib.analytics.roi import (
    ROI_METRICS,
    SPEND_FIELDS,
    cost_per_lead_change,
    empty_spend,
    filter_spend,
    roi_breakdown,
    spend_in_period,
    spend_over_time,
    unmatched_spend,
)
from lib.analytics.search import (
    search_leads,
)
from lib.analytics.statuses import (
    AGE_BUCKETS,
    idle_buckets,
    newest,
    open_lead_ages,
    stale_by_owner,
    stale_leads,
    status_breakdown,
    status_by_owner,
)
from lib.analytics.timeseries import (
    leads_over_time,
)
from lib.analytics.utm import (
    DEFAULT_UTM_ALIASES,
    MISSING_UTM_VALUES,
    normalize_text,
    normalize_utm,
    normalize_value,
    utm_quality,
)

__all__ = [
    "AFFILIATE_MEDIA",
    "AGE_BUCKETS",
    "BREAKDOWN_METRICS",
    "CHANNELS",
    "CHANNEL_RULES",
    "CLICK_IDS",
    "DATE_PRESETS",
    "DEFAULT_UTM_ALIASES",
    "DIRECT_MEDIA",
    "DISPLAY_MEDIA",
    "EMAIL_MEDIA",
    "FREQS",
    "GOAL_METRICS",
    "HISTORY_COLUMNS",
    "MISSING_UTM_VALUES",
    "NONE",
    "NOT_A_GROUP",
    "OTHER",
    "RATE_SAMPLES",
    "REFERRAL_MEDIA",
    "ROI_METRICS",
    "SEARCH_SOURCES",
    "SMALL_GROUP",
    "SOCIAL_MEDIA",
    "SOCIAL_SOURCES",
    "SOURCE_CATEGORIES",
    "SPEND_FIELDS",
    "UNASSIGNED",
    "UNKNOWN_STATUS",
    "LeadFilter",
    "change_time",
    "channel",
    "channel_of",
    "clean_goals",
    "click_platform",
    "cohort_table",
    "comparable",
    "cost_per_lead_change",
    "empty_spend",
    "filter_leads",
    "filter_options",
    "filter_spend",
    "funnel",
    "funnel_by",
    "goal_progress",
    "idle_buckets",
    "in_period",
    "leaders",
    "leads_over_time",
    "month_bounds",
    "month_key",
    "newest",
    "normalize_text",
    "normalize_utm",
    "normalize_value",
    "open_lead_ages",
    "period_kpis",
    "preset_range",
    "previous_start",
    "readable_minutes",
    "referrer_host",
    "roi_breakdown",
    "search_leads",
    "share_of_month_gone",
    "source_category",
    "speed_to_lead",
    "spend_in_period",
    "spend_over_time",
    "stale_by_owner",
    "stale_leads",
    "status_breakdown",
    "status_by_owner",
    "status_flow",
    "time_in_stage",
    "unmatched_spend",
    "utm_breakdown",
    "utm_quality",
    "wilson_interval",
    "working_day_deadline",
]
