"""lib.charts: figures carry the data, titles and axis labels they promise."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from lib import charts as C


def test_leads_over_time_chart_plain_and_stacked():
    df = pd.DataFrame({"period": pd.to_datetime(["2026-03-01", "2026-03-02"]), "leads": [3, 0]})
    fig = C.leads_over_time_chart(df, "D", period_label="1–2 Mar 2026")
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text == "New leads per day · 1–2 Mar 2026"
    assert fig.layout.yaxis.title.text == "New leads (count)"
    assert "Day" in fig.layout.xaxis.title.text
    assert list(fig.data[0].y) == [3, 0]

    by = pd.DataFrame(
        {
            "period": pd.to_datetime(["2026-03-01", "2026-03-01", "2026-03-08", "2026-03-08"]),
            "role": ["open", "won", "open", "won"],
            "leads": [3, 1, 0, 0],
        }
    )
    fig = C.leads_over_time_chart(by, "W", by="role", title="Custom")
    assert fig.layout.title.text == "Custom"
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == ["open", "won"]
    # share of the bucket: 3 of 4 and 1 of 4; an empty bucket shows 0 %
    assert list(fig.data[0].customdata) == [0.75, 0.0]
    assert list(fig.data[1].customdata) == [0.25, 0.0]
    assert fig.data[1].marker.color == C.ROLE_COLORS["won"]
