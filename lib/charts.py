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


DIM_LABELS = {"utm_source": "UTM source", "utm_medium": "UTM medium", "utm_campaign": "UTM campaign",
              "utm_term": "UTM term", "utm_content": "UTM content", "channel": "Channel", "owner": "Owner",
              "role": "Role", "status": "Status", "group": "Group"}  # fmt: skip


def dim_label(dim: str) -> str:
    """How a dimension is named on a chart ("utm_source" → "UTM source")."""
    return DIM_LABELS.get(dim, dim.replace("_", " ").capitalize())


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
        legend_title=dim_label(by) if by else "",
    )
    _bucket_ticks(fig, df["period"], f)
    return fig


_BUCKET_DAYS = {"D": 1, "W": 7, "M": 30}


def _bucket_ticks(fig: go.Figure, period: pd.Series, freq: str) -> None:
    """Up to 14 buckets: one clean tick per bucket (a day, never hours or fractions of a second). A single
    bucket (e.g. "Today") also gets a bucket-wide axis range and bar width: plotly would otherwise zoom
    into the bar's instant."""
    buckets = pd.DatetimeIndex(pd.unique(period.dropna()))
    if len(buckets) == 0 or len(buckets) > 14 or freq not in _BUCKET_DAYS:
        return
    fmt = "%b %Y" if freq == "M" else "%d %b %Y"
    fig.update_xaxes(tickmode="array", tickvals=list(buckets), ticktext=[b.strftime(fmt) for b in buckets])
    if len(buckets) == 1:
        span = pd.Timedelta(days=_BUCKET_DAYS[freq])
        fig.update_xaxes(range=[buckets[0] - span, buckets[0] + span])
        fig.update_traces(width=0.6 * span.total_seconds() * 1000, selector={"type": "bar"})


# --------------------------------------------------------------------------------------------------
# Statuses
# --------------------------------------------------------------------------------------------------


def status_colors(statuses: pd.DataFrame) -> dict[str, str]:
    """One colour per status id, stable everywhere: won greens, lost red/greys, junk dark greys, open
    statuses blues (early stages) and ambers (stage 2 "Interested" and later), in catalogue order."""
    cat = statuses.sort_values("position", kind="stable") if "position" in statuses else statuses
    used = {"won": 0, "lost": 0, "junk": 0, "blue": 0, "amber": 0}
    families = {
        "won": _WON_SHADES,
        "lost": _LOST_SHADES,
        "junk": _JUNK_SHADES,
        "blue": _OPEN_SHADES[:4],
        "amber": _OPEN_SHADES[4:],
    }
    out: dict[str, str] = {}
    for sid, role, stage in zip(cat["status_id"], cat["role"], cat["stage"], strict=True):
        role = str(role).casefold() if isinstance(role, str) else "open"
        if role in ("won", "lost", "junk"):
            family = role
        else:
            family = "amber" if (stage is not pd.NA and pd.notna(stage) and int(stage) >= 2) else "blue"
        shades = families[family]
        out[str(sid)] = shades[used[family] % len(shades)]
        used[family] += 1
    return out


def status_bar_chart(
    df: pd.DataFrame,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
    period_label: str | None = None,
) -> go.Figure:
    """Horizontal bars from ``analytics.status_breakdown`` (``status_id, status, leads, share``), in
    catalogue order from the top; ``colors`` from ``status_colors`` (unknown statuses grey)."""
    colors = colors or {}
    ids = df["status_id"].astype("string")
    bar_colors = [UNKNOWN_COLOR if pd.isna(i) else colors.get(str(i), ROLE_COLORS["open"]) for i in ids]
    text = [f"{n:,} ({_pct(s)})" for n, s in zip(df["leads"], df["share"], strict=True)]
    fig = go.Figure(
        go.Bar(
            y=df["status"].astype(str),
            x=df["leads"],
            orientation="h",
            marker_color=bar_colors,
            text=text,
            textposition="auto",
            customdata=df["share"],
            hovertemplate="%{y}<br>%{x:,} leads (%{customdata:.1%} of all)<extra></extra>",
        )
    )
    _layout(fig, _title(title, "Leads by current status", period_label), "Leads (count)", "Status")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


# --------------------------------------------------------------------------------------------------
# Funnel
# --------------------------------------------------------------------------------------------------


def funnel_chart(
    df: pd.DataFrame, title: str | None = None, period_label: str | None = None, by: str | None = None
) -> go.Figure:
    """A ``go.Funnel`` from ``analytics.funnel`` (``stage, leads, pct_of_first, pct_of_previous``, the
    percentages 0..100); with ``by`` (a long frame from ``analytics.funnel_by``) one funnel per value,
    side by side. Text and hover show the count, % of the first stage and % of the previous one."""
    fig = go.Figure()
    groups = [(None, df)] if by is None else list(df.groupby(by, sort=False))
    colors = _color_for([g for g, _ in groups], None) if by else [ROLE_COLORS["open"]]
    for (value, part), color in zip(groups, colors, strict=True):
        pf = part["pct_of_first"].to_numpy(dtype=float)
        pp = part["pct_of_previous"].to_numpy(dtype=float)
        if by is None:
            text = [
                f"{n:,} · {a:.0f}% of first · {b:.0f}% of previous" if not np.isnan(a) else f"{n:,}"
                for n, a, b in zip(part["leads"], pf, pp, strict=True)
            ]
        else:  # narrow side-by-side funnels: the count and % of first; the rest is in the hover
            text = [
                f"{n:,} ({a:.0f}%)" if not np.isnan(a) else f"{n:,}"
                for n, a in zip(part["leads"], pf, strict=True)
            ]
        fig.add_trace(
            go.Funnel(
                y=part["stage"].astype(str),
                x=part["leads"],
                name="Leads" if value is None else str(value),
                text=text,
                textinfo="text",
                marker_color=color,
                customdata=np.stack([pf, pp], axis=1),
                hovertemplate="%{y}: %{x:,} leads<br>%{customdata[0]:.1f}% of first stage"
                "<br>%{customdata[1]:.1f}% of previous stage<extra>%{fullData.name}</extra>",
            )
        )
    default = "Funnel: leads that reached each stage (junk excluded)" + (f" by {by}" if by else "")
    _layout(
        fig,
        _title(title, default, period_label),
        "Leads (count)",
        "Stage",
        legend_title=dim_label(by) if by else "",
    )
    return fig


# --------------------------------------------------------------------------------------------------
# UTM
# --------------------------------------------------------------------------------------------------

_METRIC_LABEL = {
    "leads": "Leads (count)",
    "won": "Won leads (count)",
    "lost": "Lost leads (count)",
    "junk": "Junk leads (count)",
    "open": "Open leads (count)",
    "conversion_rate": "Conversion rate: won ÷ (leads − junk), 95 % CI",
    "share": "Share of all leads",
    "junk_rate": "Junk rate: junk ÷ leads",
}
_RATE_METRICS = ("conversion_rate", "share", "junk_rate")


def utm_bar_chart(
    df: pd.DataFrame,
    dim: str,
    metric: str = "leads",
    title: str | None = None,
    period_label: str | None = None,
    top: int | None = 20,
) -> go.Figure:
    """Bars per ``dim`` value from ``analytics.utm_breakdown`` in the frame's order (the ``top`` first).

    With ``metric="conversion_rate"`` the Wilson 95 % interval (``ci_low``, ``ci_high``) is drawn as error
    bars. Hover shows leads, won, junk, conversion and share."""
    part = df.head(top) if top else df
    y = part[metric].to_numpy(dtype=float)
    err = None
    if metric == "conversion_rate":
        err = {
            "type": "data",
            "symmetric": False,
            "array": np.nan_to_num(part["ci_high"].to_numpy(dtype=float) - y),
            "arrayminus": np.nan_to_num(y - part["ci_low"].to_numpy(dtype=float)),
            "color": "#555",
        }
    cols = [c for c in ("leads", "won", "junk", "conversion_rate", "ci_low", "ci_high", "share") if c in part]
    custom = part[cols].to_numpy(dtype=float)
    pos = {c: i for i, c in enumerate(cols)}
    hover = [f"{dim_label(dim)}: %{{x}}"]
    if "leads" in pos:
        hover.append(f"%{{customdata[{pos['leads']}]:,.0f}} leads")
    if "share" in pos:
        hover[-1] += f" (%{{customdata[{pos['share']}]:.1%}} of all)"
    if "won" in pos:
        hover.append(f"won %{{customdata[{pos['won']}]:,.0f}}")
    if "junk" in pos:
        hover[-1] += f" · junk %{{customdata[{pos['junk']}]:,.0f}}"
    if "conversion_rate" in pos:
        hover.append(
            f"conversion %{{customdata[{pos['conversion_rate']}]:.1%}}"
            + (
                f" (95 % CI %{{customdata[{pos['ci_low']}]:.1%}}–%{{customdata[{pos['ci_high']}]:.1%}})"
                if "ci_low" in pos
                else ""
            )
        )
    fig = go.Figure(
        go.Bar(
            x=part[dim].astype(str),
            y=y,
            error_y=err,
            marker_color=_color_for(part[dim].astype(str).tolist(), None)
            if dim == "channel"
            else ROLE_COLORS["open"],
            customdata=custom,
            hovertemplate="<br>".join(hover) + "<extra></extra>",
        )
    )
    label = _METRIC_LABEL.get(metric, metric)
    default = f"{label.split(':')[0].split(' (')[0]} by {dim_label(dim)}"
    _layout(fig, _title(title, default, period_label), dim_label(dim), label)
    if metric in _RATE_METRICS:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def utm_treemap(
    leads_breakdown: pd.DataFrame,
    title: str | None = None,
    period_label: str | None = None,
    path: Sequence[str] = ("utm_source", "utm_medium", "utm_campaign"),
) -> go.Figure:
    """Source → medium → campaign treemap from ``analytics.utm_breakdown(by=path)``; area = leads,
    colour = conversion rate; hover shows leads, % of parent and of all, won and conversion."""
    df = leads_breakdown
    ids, labels, parents, values, won, base = [], [], [], [], [], []
    for depth in range(1, len(path) + 1):
        cols = list(path[:depth])
        g = df.groupby(cols, sort=False, observed=True)[["leads", "won", "junk"]].sum().reset_index()
        for row in g.itertuples(index=False):
            keys = [str(v) for v in row[:depth]]
            ids.append("/".join(keys))
            labels.append(keys[-1])
            parents.append("/".join(keys[:-1]))
            values.append(int(row.leads))
            won.append(int(row.won))
            base.append(int(row.leads - row.junk))
    base_arr = np.asarray(base, dtype=float)
    conv = np.divide(np.asarray(won, float), base_arr, out=np.full(len(base_arr), np.nan), where=base_arr > 0)
    fig = go.Figure(
        go.Treemap(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            customdata=np.stack([np.asarray(won, float), conv], axis=1) if ids else None,
            marker={
                "colors": np.nan_to_num(conv),
                "colorscale": "Blues",
                "colorbar": {"title": "Conversion"},
            },
            texttemplate="%{label}<br>%{value:,} leads",
            hovertemplate="%{id}<br>%{value:,} leads · %{percentParent:.1%} of parent"
            " · %{percentRoot:.1%} of all"
            "<br>won %{customdata[0]:,.0f} · conversion %{customdata[1]:.1%}<extra></extra>",
        )
    )
    default = "Leads by " + " → ".join(p.removeprefix("utm_") for p in path)
    _layout(fig, _title(title, default, period_label), None, None)
    return fig


# --------------------------------------------------------------------------------------------------
# Cohorts
# --------------------------------------------------------------------------------------------------


def cohort_heatmap(
    df: pd.DataFrame, title: str | None = None, period_label: str | None = None, freq: str = "W"
) -> go.Figure:
    """Heatmap from ``analytics.cohort_table``: one row per cohort (creation week), one column per
    current role; colour = share of the cohort, text = count and share."""
    roles = ["open", "won", "lost", "junk"]
    n = df["leads"].to_numpy(dtype=float)
    counts = df[roles].to_numpy(dtype=float)
    share = np.divide(counts, n[:, None], out=np.full(counts.shape, np.nan), where=n[:, None] > 0)
    unit = {"D": "%d %b %Y", "W": "%d %b %Y", "M": "%b %Y"}.get(str(freq).upper()[:1], "%d %b %Y")
    y = [f"{c:{unit}} ({int(k):,})" for c, k in zip(pd.to_datetime(df["cohort"]), n, strict=True)]
    text = [
        [f"{int(c):,}<br>{_pct(s)}" for c, s in zip(rc, rs, strict=True)]
        for rc, rs in zip(counts, share, strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            x=roles,
            y=y,
            z=share,
            text=text,
            texttemplate="%{text}",
            customdata=counts,
            colorscale="Greens",
            zmin=0,
            zmax=1,
            colorbar={"title": "Share", "tickformat": ".0%"},
            hovertemplate="Cohort %{y}<br>%{x}: %{customdata:,.0f} leads (%{z:.1%})<extra></extra>",
        )
    )
    word = _FREQ_WORD.get(str(freq).upper()[:1], "period")
    default = f"Where each {word.split(' ')[0]}'s new leads stand now"
    _layout(fig, _title(title, default, period_label), "Current status role", f"Created in {word} (leads)")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig
