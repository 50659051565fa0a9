"""Streamlit glue shared by the pages: settings, the connected source, cached data, sidebar filters.

The only part of lib that imports streamlit. Pages call these and hold no logic of their own. One module
per concern: navigation, data (loading and the store), filters (the sidebar and the URL), formatting,
page (the context every dashboard page starts from), tables (tables and CSV exports); this module
re-exports their public names, so pages write ``from lib import ui`` and ``ui.page()``.
"""

from lib.ui.auth import (
    current_role,
    current_user,
    masked,
    own_leads,
)
from lib.ui.data import (
    CACHE_TTL_SECONDS,
    PROGRESS_UPDATES,
    LoadedData,
    catalogue,
    forget_connection,
    load_data,
    refresh,
    settings,
    show_error,
    source,
    store,
    today,
    user_aliases,
)
from lib.ui.filters import (
    DEFAULT_PRESET,
    chosen_preset,
    filters_from_url,
    period_label,
    period_of,
    sidebar_filters,
    sidebar_status,
)
from lib.ui.formatting import (
    RATE_COLUMNS,
    change,
    comparison_note,
    conversion_help,
    conversion_note,
    count,
    delta_look,
    maturing_note,
    percent,
    points_change,
    won_help,
)
from lib.ui.navigation import (
    NAVIGATION,
    navigation,
)
from lib.ui.page import (
    Page,
    no_leads_notice,
    page,
)
from lib.ui.tables import (
    EAGER_CSV_ROWS,
    LEAD_TABLE_COLUMNS,
    STALE_TABLE_COLUMNS,
    extra_dimensions,
    lead_details,
    leads_table,
    selected_row,
    stale_table,
    table,
)

__all__ = [
    "CACHE_TTL_SECONDS",
    "DEFAULT_PRESET",
    "EAGER_CSV_ROWS",
    "LEAD_TABLE_COLUMNS",
    "NAVIGATION",
    "PROGRESS_UPDATES",
    "RATE_COLUMNS",
    "STALE_TABLE_COLUMNS",
    "LoadedData",
    "Page",
    "catalogue",
    "change",
    "chosen_preset",
    "comparison_note",
    "conversion_help",
    "conversion_note",
    "count",
    "current_role",
    "current_user",
    "delta_look",
    "extra_dimensions",
    "filters_from_url",
    "forget_connection",
    "lead_details",
    "leads_table",
    "load_data",
    "masked",
    "maturing_note",
    "navigation",
    "no_leads_notice",
    "own_leads",
    "page",
    "percent",
    "period_label",
    "period_of",
    "points_change",
    "refresh",
    "selected_row",
    "settings",
    "show_error",
    "sidebar_filters",
    "sidebar_status",
    "source",
    "stale_table",
    "store",
    "table",
    "today",
    "user_aliases",
    "won_help",
]
