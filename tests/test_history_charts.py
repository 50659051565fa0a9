"""Status history charts: the Sankey of status changes and the speed-to-lead bars show what they promise."""

from __future__ import annotations

import pandas as pd

from lib import charts

FLOW = pd.DataFrame(
    {
        "from_status_id": pd.array(["n", "n", None], dtype="string"),
        "from_status": ["💫 חדש", "💫 חדש", "(unknown status)"],
        "to_status_id": pd.array(["c", "i", "c"], dtype="string"),
        "to_status": ["<b>בטיפול</b> & co", "⚡️ מעוניין", "<b>בטיפול</b> & co"],
        "changes": [3, 1, 1],
    }
)


def test_sankey_has_a_node_per_status_left_and_entered_and_a_band_per_pair():
    fig = charts.status_flow_sankey(FLOW, {"n": "#4C78A8", "c": "#F59E0B"}, period_label="1–30 Nov 2026")
    sankey = fig.data[0]
    # left: חדש, (unknown status); right: בטיפול, מעוניין — CRM names literal, HTML characters escaped
    assert sankey.node.label == (
        "💫 חדש",
        "(unknown status)",
        "&lt;b&gt;בטיפול&lt;/b&gt; &amp; co",
        "⚡️ מעוניין",
    )
    assert (sankey.link.source, sankey.link.target, sankey.link.value) == ((0, 0, 1), (2, 3, 2), (3, 1, 1))
    # node colours by status id, grey for the unknown status and for a status without a colour
    assert sankey.node.color == ("#4C78A8", "#BDBDBD", "#F59E0B", "#BDBDBD")
    assert sankey.link.color[0] == "rgba(76, 120, 168, 0.45)"  # the source's colour, see-through
    # out of new: 3 + 1 = 4; into contacted: 3 + 1 = 4
    assert sankey.node.customdata == (
        "4 changes out of this status",
        "1 change out of this status",
        "4 changes into this status",
        "1 change into this status",
    )
    assert fig.layout.title.subtitle.text == "1–30 Nov 2026"


def test_speed_to_lead_chart_shows_both_shares_per_group():
    speed = pd.DataFrame(
        {
            "owner": ["דנה & Co", "(unassigned)"],
            "within_1h": [0.5, float("nan")],
            "judged_1h": [4, 0],
            "within_1_working_day": [1.0, 0.0],
            "judged_1_working_day": [3, 1],
        }
    )
    fig = charts.speed_to_lead_chart(speed, "owner")
    hour, day = fig.data
    assert hour.y == ("דנה &amp; Co", "(unassigned)")
    assert hour.text == ("50.0%", "")  # nothing to judge yet: no label
    assert day.x.tolist() == [1.0, 0.0]
    assert day.customdata.tolist() == [3.0, 1.0]
    assert (hour.name, day.name) == ("Within 1 hour", "Within 1 working day")
