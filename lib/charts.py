"""Plotly figures for the dashboard: a DataFrame from ``lib.analytics`` in, a ``go.Figure`` out.

No Streamlit here. Every chart has a title and axis titles that say what is counted and over which period
(pass ``period_label``, e.g. "1–31 Mar 2026", or a full ``title``), and hover texts with counts and
percentages. Hebrew and emoji labels are plain strings: Plotly renders them with the browser's bidi
support, so they need no reversing or escaping here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

FONT = "Segoe UI, Noto Sans Hebrew, Noto Sans, Arial Hebrew, Arial, sans-serif"
_FREQ_WORD = {"D": "day", "W": "week (weeks start Sunday)", "M": "month"}
_FREQ_UNIT = {"D": "Day", "W": "Week starting", "M": "Month"}

# One colour per role family; each status gets a shade of its role's family (see status_colors).
ROLE_COLORS = {"open": "#4C78A8", "won": "#2CA02C", "lost": "#B5533C", "junk": "#3B3B3B"}
_OPEN_SHADES = ("#9ECAE9", "#6BAED6", "#4C78A8", "#2F5597", "#F2CF5B", "#F59E0B", "#D97706", "#B45309")
_WON_SHADES = ("#2CA02C", "#74C476", "#1A7F37", "#A1D99B")
_LOST_SHADES = ("#B5533C", "#9E9E9E", "#D6616B", "#7F7F7F")
_JUNK_SHADES = ("#3B3B3B", "#5C4B51", "#252525", "#6B6B6B")
UNKNOWN_COLOR = "#BDBDBD"
# A fixed palette for any other dimension (sources, channels, owners), colour-blind friendly first.
PALETTE = (
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6",
    "#9D755D", "#BAB0AC", "#1F77B4", "#8C564B",
)  # fmt: skip
CHANNEL_COLORS = {
    "Direct": "#9D755D",
    "Organic Search": "#54A24B",
    "Paid Search": "#F58518",
    "Organic Social": "#4C78A8",
    "Paid Social": "#E45756",
    "Email": "#72B7B2",
    "Referral": "#B279A2",
    "Display": "#EECA3B",
    "Affiliates": "#FF9DA6",
    "Unassigned": "#BAB0AC",
}


def _title(title: str | None, default: str, period_label: str | None) -> str:
    if title:
        return title
    return f"{default} · {period_label}" if period_label else default


def _layout(fig: go.Figure, title: str, x: str | None, y: str | None, **kw) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        hoverlabel={"font": {"family": FONT}},
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"title": {"text": kw.pop("legend_title", "")}},
        **kw,
    )
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.update_yaxes(title_text=y)
    return fig


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.1%}"


def _color_for(values: Sequence, colors: Mapping | None) -> list[str]:
    colors = colors or {}
    out, i = [], 0
    for v in values:
        if v in colors:
            out.append(colors[v])
        elif v in CHANNEL_COLORS:
            out.append(CHANNEL_COLORS[v])
        elif v in ROLE_COLORS:
            out.append(ROLE_COLORS[v])
        else:
            out.append(PALETTE[i % len(PALETTE)])
            i += 1
    return out


def leads_over_time_chart(
    df: pd.DataFrame,
    freq: str = "D",
    by: str | None = None,
    title: str | None = None,
    period_label: str | None = None,
    kind: str = "bar",
    colors: Mapping | None = None,
) -> go.Figure:
    """New leads per bucket from ``analytics.leads_over_time`` (columns ``period``, [``by``], ``leads``).

    ``kind`` "bar" (stacked when ``by``) or "line"; hover shows the count and, with ``by``, the share of
    the bucket's leads."""
    f = str(freq).upper()[:1]
    word = _FREQ_WORD.get(f, "period")
    default = f"New leads per {word}" + (f" by {by}" if by else "")
    fig = go.Figure()
    x_title = f"{_FREQ_UNIT.get(f, 'Period')} (created, display time zone)"
    if by is None:
        trace = go.Bar if kind == "bar" else go.Scatter
        extra = {"marker_color": ROLE_COLORS["open"]} if kind == "bar" else {"mode": "lines+markers"}
        fig.add_trace(
            trace(
                x=df["period"],
                y=df["leads"],
                name="Leads",
                hovertemplate="%{x|%d %b %Y}<br>%{y:,} leads<extra></extra>",
                **extra,
            )
        )
    else:
        totals = df.groupby("period", sort=False)["leads"].transform("sum").to_numpy()
        share = np.divide(df["leads"].to_numpy(), totals, out=np.zeros(len(df)), where=totals > 0)
        values = list(dict.fromkeys(df[by].tolist()))
        for value, color in zip(values, _color_for(values, colors), strict=True):
            sel = (df[by] == value).to_numpy()
            common = {
                "x": df["period"][sel],
                "y": df["leads"][sel],
                "name": str(value),
                "customdata": share[sel],
                "hovertemplate": f"{value}<br>%{{x|%d %b %Y}}<br>%{{y:,}} leads (%{{customdata:.1%}})"
                "<extra></extra>",
            }
            if kind == "bar":
                fig.add_trace(go.Bar(marker_color=color, **common))
            else:
                fig.add_trace(go.Scatter(mode="lines", stackgroup="one", line_color=color, **common))
    _layout(
        fig,
        _title(title, default, period_label),
        x_title,
        "New leads (count)",
        barmode="stack",
        legend_title=by or "",
    )
    return fig
