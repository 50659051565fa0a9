"""Default funnel role and stage of a status, guessed from its name (Hebrew and English keywords).

Status ids differ per account, so the mapping a user edits in Settings is keyed by id; these defaults only
give an account with unfamiliar status names a sensible starting point. Stages index DEFAULT_STAGES:
0 New, 1 Contacted, 2 Interested, 3 Customer.
"""

from __future__ import annotations

import re

import pandas as pd

from lib.schema import DEFAULT_STAGES

NEW, CONTACTED, INTERESTED, CUSTOMER = range(len(DEFAULT_STAGES))

# Checked in this order, first match wins: "לא מעוניין" (not interested) must be seen as lost before
# "מעוניין" (interested) is seen as a stage, a duplicate is junk whatever else its name says, and a
# "potential customer" (לקוח פוטנציאלי) is a new lead before "customer" (לקוח) can make it won.
_RULES: tuple[tuple[str, int | None, tuple[str, ...]], ...] = (
    (
        "junk",
        None,
        (
            "כפול",
            "תקול",
            "ספאם",
            "שגוי",
            "לא רלוונטי",
            "duplicate",
            "dup",
            "spam",
            "invalid",
            "faulty",
            "junk",
            "fake",
            "test",
            "wrong number",
            "irrelevant",
        ),
    ),
    (
        "lost",
        CONTACTED,
        (
            "לא מעוניין",
            "אבוד",
            "ביטל",
            "not interested",
            "uninterested",
            "lost",
            "rejected",
            "declined",
            "cancelled",
            "canceled",
            "closed lost",
            "no deal",
        ),
    ),
    (
        "open",
        NEW,
        ("פוטנציאלי", "ליד חדש", "prospect", "potential", "new lead"),
    ),
    (
        "won",
        CUSTOMER,
        (
            "הומר",
            "לקוח",
            "נסגר",
            "עסקה",
            "רכש",
            "customer",
            "won",
            "converted",
            "closed won",
            "sale",
            "sold",
            "deal",
            "paid",
            "client",
        ),
    ),
    (
        "open",
        INTERESTED,
        (
            "מעוניין",
            "מתעניין",
            "פגישה",
            "הצעת מחיר",
            "interested",
            "qualified",
            "hot",
            "meeting",
            "proposal",
            "negotiation",
            "demo",
        ),
    ),
    (
        "open",
        CONTACTED,
        (
            "בטיפול",
            "אין מענה",
            "פולו",
            "חזרה",
            "נוצר קשר",
            "in progress",
            "no answer",
            "לא ענה",
            "unreachable",
            "follow",
            "contacted",
            "callback",
            "call back",
            "working",
            "handling",
            "attempt",
        ),
    ),
)


def _matches(name: str, keyword: str) -> bool:
    if keyword.isascii():
        return re.search(rf"(?<![a-z]){re.escape(keyword)}(?![a-z])", name) is not None
    return keyword in name


def default_role_and_stage(name: str | None) -> tuple[str, int | None]:
    """The (role, stage) a status named `name` gets by default; unknown names are open leads at New."""
    text = " ".join(str(name or "").casefold().replace("-", " ").split())
    for role, stage, keywords in _RULES:
        if any(_matches(text, k) for k in keywords):
            return role, stage
    return "open", NEW


def with_default_roles(statuses: pd.DataFrame) -> pd.DataFrame:
    """`statuses` with `role` and `stage` filled from the status names."""
    pairs = [default_role_and_stage(n) for n in statuses["status"].tolist()]
    out = statuses.copy()
    out["role"] = pd.Series([p[0] for p in pairs], index=out.index, dtype="string")
    out["stage"] = pd.Series([p[1] for p in pairs], index=out.index, dtype="Int64")
    return out
