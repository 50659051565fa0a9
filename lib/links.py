"""Links from the dashboard to a lead's own page in the CRM (no Streamlit here)."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd

from lib.config import Settings

# Where each CRM shows a lead, `{base_url}` being the connection's address and `{id}` the lead's id.
# Sources not listed have no lead pages the dashboard knows of (LEADS_LEAD_URL can name one).
LEAD_URLS = {"kommo": "{base_url}/leads/detail/{id}"}


def lead_url_template(settings: Settings) -> str | None:
    """The address of a lead's page with `{id}` for its id: LEADS_LEAD_URL when set, else the CRM's own
    (Kommo: `{base_url}/leads/detail/{id}`), else None (no links)."""
    if settings.lead_url:
        return settings.lead_url
    template = LEAD_URLS.get(settings.source)
    if template is None or not settings.base_url:
        return None
    return template.replace("{base_url}", settings.base_url.rstrip("/"))


def lead_urls(lead_ids: pd.Series, template: str) -> pd.Series:
    """Per lead the address of its page (`{id}` replaced by the id, URL-quoted); NA where the id is."""
    return pd.Series(
        [pd.NA if pd.isna(i) else template.replace("{id}", quote(str(i), safe="")) for i in lead_ids],
        index=lead_ids.index,
        dtype="string",
    )
