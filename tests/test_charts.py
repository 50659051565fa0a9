"""lib.charts: figures carry the data, titles and axis labels they promise."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

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


STATUSES = pd.DataFrame(
    {
        "status_id": ["n", "w", "i", "x", "d", "c", "c2"],
        "status": [
            "💫 חדש",
            "🌟 בטיפול",
            "⚡️ מעוניין",
            "😐 לא מעוניין",
            "❗️ כפול",
            "🎉 הומר ללקוח",
            "⚠️ לקוח חוזר",
        ],
        "position": range(7),
        "role": ["open", "open", "open", "lost", "junk", "won", "won"],
        "stage": pd.array([0, 1, 2, 1, None, 3, 3], dtype="Int64"),
    }
)


def test_status_colors_one_per_status_by_role_family():
    colors = C.status_colors(STATUSES)
    assert set(colors) == {"n", "w", "i", "x", "d", "c", "c2"}
    assert len(set(colors.values())) == 7  # distinct
    assert colors["c"] in C._WON_SHADES and colors["c2"] in C._WON_SHADES
    assert colors["x"] in C._LOST_SHADES and colors["d"] in C._JUNK_SHADES
    assert colors["n"] in C._OPEN_SHADES[:4] and colors["w"] in C._OPEN_SHADES[:4]
    assert colors["i"] in C._OPEN_SHADES[4:]  # "Interested" and later: amber
    assert C.status_colors(STATUSES) == colors  # stable


def test_status_bar_chart():
    df = pd.DataFrame(
        {
            "status_id": pd.array(["n", "c", None], dtype="string"),
            "status": ["💫 חדש", "🎉 הומר ללקוח", "(unknown status)"],
            "leads": [3, 1, 0],
            "share": [0.75, 0.25, 0.0],
        }
    )
    colors = C.status_colors(STATUSES)
    fig = C.status_bar_chart(df, colors, period_label="March 2026")
    bar = fig.data[0]
    assert list(bar.y) == ["💫 חדש", "🎉 הומר ללקוח", "(unknown status)"]
    assert list(bar.marker.color) == [colors["n"], colors["c"], C.UNKNOWN_COLOR]
    assert list(bar.text) == ["3 (75.0%)", "1 (25.0%)", "0 (0.0%)"]
    assert fig.layout.title.text == "Leads by current status · March 2026"
    assert fig.layout.xaxis.title.text == "Leads (count)"


def test_funnel_chart_texts_and_side_by_side():
    df = pd.DataFrame(
        {
            "stage": ["New", "Contacted"],
            "leads": [4, 1],
            "pct_of_first": [100.0, 25.0],
            "pct_of_previous": [100.0, 25.0],
        }
    )
    fig = C.funnel_chart(df, period_label="Q1")
    assert isinstance(fig.data[0], go.Funnel)
    assert list(fig.data[0].text) == [
        "4 · 100% of first · 100% of previous",
        "1 · 25% of first · 25% of previous",
    ]
    # a long title keeps what is counted on the first line and the period on the subtitle line (phone screens)
    assert "junk excluded" in fig.layout.title.text and fig.layout.title.subtitle.text == "Q1"
    long = pd.concat([df.assign(src="facebook"), df.assign(src="גוגל")], ignore_index=True)
    fig = C.funnel_chart(long, by="src")  # compared as grouped bars (funnel_compare_chart)
    assert [t.name for t in fig.data] == ["facebook", "גוגל"]
    assert all(isinstance(t, go.Bar) for t in fig.data)
    assert list(fig.data[1].text) == ["4 (100.0%)", "1 (25.0%)"]


BREAKDOWN = pd.DataFrame(
    {
        "utm_source": ["facebook", "google"],
        "utm_medium": ["cpc", "organic"],
        "utm_campaign": ["חג האהבה", "(none)"],
        "leads": [10, 5],
        "won": [2, 0],
        "lost": [1, 0],
        "junk": [2, 1],
        "open": [5, 4],
        "conversion_rate": [0.25, 0.0],
        "ci_low": [0.07, 0.0],
        "ci_high": [0.59, 0.49],
        "share": [2 / 3, 1 / 3],
        "junk_rate": [0.2, 0.2],
    }
)


def test_utm_bar_chart_error_bars_for_conversion():
    fig = C.utm_bar_chart(BREAKDOWN, "utm_source", "conversion_rate", period_label="March")
    bar = fig.data[0]
    assert list(bar.y) == [0.25, 0.0]
    assert list(bar.error_y.array) == pytest.approx([0.34, 0.49])
    assert list(bar.error_y.arrayminus) == pytest.approx([0.18, 0.0])
    assert fig.layout.yaxis.tickformat == ".0%"
    assert "won ÷ (leads − junk)" in fig.layout.yaxis.title.text
    assert fig.layout.title.text == "Conversion rate by UTM source · March"
    plain = C.utm_bar_chart(BREAKDOWN, "utm_source")
    assert plain.data[0].error_y.array is None
    assert plain.layout.yaxis.title.text == "Leads (count)"


def test_cohort_heatmap():
    df = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2026-03-01", "2026-03-08"]),
            "leads": [4, 0],
            "open": [1, 0],
            "won": [2, 0],
            "lost": [0, 0],
            "junk": [1, 0],
        }
    )
    fig = C.cohort_heatmap(df)
    h = fig.data[0]
    assert list(h.x) == ["open", "won", "lost", "junk"]
    assert list(h.y) == ["01 Mar 2026 (4)", "08 Mar 2026 (0)"]
    assert h.z[0] == pytest.approx([0.25, 0.5, 0.0, 0.25])
    assert h.text[0][1] == "2<br>50.0%"
    assert h.text[1][0] == "0<br>–"
