"""Default funnel role and stage from a status name, row by row (apis.md §1 and common variants)."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.roles import CONTACTED, CUSTOMER, INTERESTED, NEW, default_role_and_stage, with_default_roles
from lib.schema import to_canonical_statuses

CASES = [
    # the seed's ten statuses, with the roles of the apis.md table
    ("💫 חדש", "open", NEW),
    ("🌟 בטיפול", "open", CONTACTED),
    ("☎️ אין מענה", "open", CONTACTED),
    ("💡 פולו-אפ", "open", CONTACTED),
    ("⚡️ מעוניין", "open", INTERESTED),
    ("😐 לא מעוניין", "lost", CONTACTED),
    ("❗️ כפול", "junk", None),
    ("⛔️ תקול", "junk", None),
    ("⚠️ לקוח חוזר", "won", CUSTOMER),
    ("🎉 הומר ללקוח", "won", CUSTOMER),
    # English names of other accounts
    ("New", "open", NEW),
    ("In progress", "open", CONTACTED),
    ("No answer", "open", CONTACTED),
    ("Follow-up", "open", CONTACTED),
    ("Interested", "open", INTERESTED),
    ("Qualified", "open", INTERESTED),
    ("Meeting scheduled", "open", INTERESTED),
    ("NOT INTERESTED", "lost", CONTACTED),
    ("Uninterested", "lost", CONTACTED),
    ("Closed - lost", "lost", CONTACTED),
    ("Closed won", "won", CUSTOMER),
    ("Converted", "won", CUSTOMER),
    ("Duplicate", "junk", None),
    ("Spam", "junk", None),
    ("Invalid number", "junk", None),
    # look-alikes that must not trip a keyword
    ("לקוח פוטנציאלי", "open", NEW),  # potential customer is not a customer yet
    ("Potential customer", "open", NEW),
    ("Contest entry", "open", NEW),  # "test" only as a word
    ("Hotline", "open", NEW),  # "hot" only as a word
    ("לא ענה", "open", CONTACTED),
    ("", "open", NEW),
    (None, "open", NEW),
    ("Something else entirely", "open", NEW),
]


@pytest.mark.parametrize(("name", "role", "stage"), CASES)
def test_default_role_and_stage(name, role, stage):
    assert default_role_and_stage(name) == (role, stage)


def test_with_default_roles_fills_role_and_stage_keeping_other_columns():
    statuses = to_canonical_statuses(
        pd.DataFrame({"status_id": ["1", "2", "3"], "status": ["💫 חדש", "❗️ כפול", "🎉 הומר ללקוח"]})
    )
    out = with_default_roles(statuses)
    assert out["role"].tolist() == ["open", "junk", "won"]
    assert out["stage"].tolist() == [0, pd.NA, 3]
    assert str(out["role"].dtype) == "string" and str(out["stage"].dtype) == "Int64"
    assert out["status_id"].tolist() == ["1", "2", "3"]
    assert statuses["role"].tolist() == ["open"] * 3  # the input is not modified
