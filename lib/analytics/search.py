"""Searching leads by name, phone, e-mail, company or id."""

from __future__ import annotations

import numpy as np
import pandas as pd


def search_leads(leads: pd.DataFrame, query: str) -> pd.DataFrame:
    """Leads whose name, phone, e-mail, company or id contains `query` (case-insensitive). A query with
    digits also matches phones written differently (050-123 finds +97250123…). A query of several words
    also matches a name holding every word in any order ("כהן ישראל" finds "ישראל כהן")."""
    query = " ".join(query.split())
    if not query:
        return leads
    mask = np.zeros(len(leads), dtype=bool)
    for column in ("name", "email", "company", "lead_id", "phone"):
        if column in leads:
            found = leads[column].astype("string").str.contains(query, case=False, regex=False, na=False)
            mask |= found.to_numpy(dtype=bool)
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4 and "phone" in leads:
        phone_digits = leads["phone"].astype("string").str.replace(r"\D", "", regex=True)
        found = phone_digits.str.contains(digits.lstrip("0"), regex=False, na=False)
        mask |= found.to_numpy(dtype=bool)
    words = query.split()
    names = [c for c in ("name", "first_name", "last_name") if c in leads]
    if len(words) > 1 and names:
        text = leads[names[0]].astype("string").fillna("")
        for column in names[1:]:
            text = text + " " + leads[column].astype("string").fillna("")
        every = np.ones(len(leads), dtype=bool)
        for word in words:
            every &= text.str.contains(word, case=False, regex=False, na=False).to_numpy(dtype=bool)
        mask |= every
    return leads[mask]
