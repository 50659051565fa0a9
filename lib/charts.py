"""Plotly figures for the dashboard: a DataFrame from ``lib.analytics`` in, a ``go.Figure`` out.

No Streamlit here. Every chart has a title and axis titles that say what is counted and over which period
(pass ``period_label``, e.g. "1–31 Mar 2026", or a full ``title``), and hover texts with counts and
percentages. Hebrew and emoji labels are plain strings: Plotly renders them with the browser's bidi
support, so they need no reversing or escaping here.
"""

from __future__ import annotations

import unicodedata
import zlib
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
    "Cross-network": "#8C564B",
    "Paid Shopping": "#D62728",
    "Paid Search": "#F58518",
    "Paid Social": "#E45756",
    "Paid Video": "#B31217",
    "Display": "#EECA3B",
    "Paid Other": "#FF7F0E",
    "Organic Shopping": "#2CA02C",
    "Organic Social": "#4C78A8",
    "Organic Video": "#17BECF",
    "Organic Search": "#54A24B",
    "Referral": "#B279A2",
    "Email": "#72B7B2",
    "Affiliates": "#FF9DA6",
    "Audio": "#1F77B4",
    "SMS": "#9467BD",
    "Mobile Push Notifications": "#E377C2",
    "Unassigned": "#BAB0AC",
}

# Well-known sources keep their brand-like colour in every chart (keys are normalised values, see
# ``color_of``); labels that name no real group are grey.
SOURCE_COLORS = {
    "facebook": "#1877F2",
    "instagram": "#C13584",
    "google": "#F4B400",
    "tiktok": "#FE2C55",
    "whatsapp": "#25D366",
    "youtube": "#B31217",
    "linkedin": "#0E7C86",
    "email": "#8E6C8A",
    "(none)": "#BDBDBD",
    "(other)": "#8C8C8C",
    "(unassigned)": "#BDBDBD",
}


def _key(value) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(value)).split()).casefold()


def color_of(value, colors: Mapping | None = None) -> str:
    """One colour per value, the same in every chart and every run: ``colors`` (e.g. from
    ``status_colors``) first, then the channel and role colours, the well-known sources
    (``SOURCE_COLORS``), else a stable hash (CRC-32) of the normalised value into ``PALETTE``. Two rare
    values may share a palette colour; a value never changes colour between charts."""
    if colors and value in colors:
        return colors[value]
    if value in CHANNEL_COLORS:
        return CHANNEL_COLORS[value]
    if value in ROLE_COLORS:
        return ROLE_COLORS[value]
    key = _key(value)
    if key in SOURCE_COLORS:
        return SOURCE_COLORS[key]
    return PALETTE[zlib.crc32(key.encode("utf-8")) % len(PALETTE)]


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


_TITLE_LINE = 40  # characters: a longer title is split into a title and a subtitle line (phone screens)


def _title_parts(title: str) -> tuple[str, str]:
    """A long title as (title, subtitle), split at its first " · " or ", " (what, then over which period),
    so that neither line is clipped on a phone-size screen nor runs under the chart's toolbar."""
    if len(title) <= _TITLE_LINE:
        return title, ""
    for sep in (" · ", ", "):
        head, found, rest = title.partition(sep)
        if found and head:
            return head, rest
    return title, ""


def _layout(fig: go.Figure, title: str, x: str | None, y: str | None, **kw) -> go.Figure:
    head, sub = _title_parts(title)
    fig.update_layout(
        title={"text": head, "subtitle": {"text": sub}, "x": 0.01, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        hoverlabel={"font": {"family": FONT}},
        margin={"l": 60, "r": 20, "t": 80 if sub else 60, "b": 50},
        legend={"title": {"text": kw.pop("legend_title", "")}},
        **kw,
    )
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.update_yaxes(title_text=y)
    _safe_traces(fig)
    return fig


def _safe(labels):
    """Text from data made literal for Plotly, which renders a subset of HTML in every label (<a href>
    becomes a link, <b>, <br>, <i>...): `&`, `<` and `>` become entities, which Plotly shows as the
    characters. A string, or a sequence whose string items are escaped (other items kept)."""
    if isinstance(labels, str):
        return labels.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return [_safe(v) if isinstance(v, str) else v for v in labels]


def _safe_traces(fig: go.Figure) -> None:
    """Every trace's categories, texts and legend name through `_safe` (numbers and times untouched)."""
    for trace in fig.data:
        for attr in ("x", "y", "text", "name"):
            value = getattr(trace, attr, None)
            if isinstance(value, str) or (value is not None and any(isinstance(v, str) for v in value)):
                setattr(trace, attr, _safe(value))


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.1%}"


def _color_for(values: Sequence, colors: Mapping | None) -> list[str]:
    """``color_of`` each value: a value has the same colour whatever else the chart shows."""
    return [color_of(v, colors) for v in values]


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
                "hovertemplate": f"{_safe(str(value))}<br>%{{x|%d %b %Y}}<br>%{{y:,}} leads "
                "(%{customdata:.1%})<extra></extra>",
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
    percentages 0..100). Text and hover show the count, % of the first stage and % of the previous one.
    With ``by`` (a long frame from ``analytics.funnel_by``) the groups are compared with
    ``funnel_compare_chart``."""
    if by is not None:
        return funnel_compare_chart(df, by, title=title, period_label=period_label)
    fig = go.Figure()
    pf = df["pct_of_first"].to_numpy(dtype=float)
    pp = df["pct_of_previous"].to_numpy(dtype=float)
    text = [
        f"{n:,} · {a:.0f}% of first · {b:.0f}% of previous" if not np.isnan(a) else f"{n:,}"
        for n, a, b in zip(df["leads"], pf, pp, strict=True)
    ]
    fig.add_trace(
        go.Funnel(
            y=df["stage"].astype(str),
            x=df["leads"],
            name="Leads",
            text=text,
            textinfo="text",
            marker_color=ROLE_COLORS["open"],
            customdata=np.stack([pf, pp], axis=1),
            hovertemplate="%{y}: %{x:,} leads<br>%{customdata[0]:.1f}% of first stage"
            "<br>%{customdata[1]:.1f}% of previous stage<extra>%{fullData.name}</extra>",
        )
    )
    default = "Funnel: leads that reached each stage (junk excluded)"
    _layout(fig, _title(title, default, period_label), "Leads (count)", "Stage")
    return fig


def funnel_compare_chart(
    df: pd.DataFrame,
    by: str,
    title: str | None = None,
    period_label: str | None = None,
    colors: Mapping | None = None,
) -> go.Figure:
    """Funnels of several groups compared as grouped horizontal bars, from ``analytics.funnel_by``
    (long: ``by, stage, leads, pct_of_first, pct_of_previous``, percentages 0..100).

    One trace per group (legend = the group, its ``color_of`` colour), one bar per stage: length = % of
    the group's own first stage, so groups of different sizes compare; each bar is labelled outside with
    its own count and percentage, e.g. "12 (45.0%)", so no label hides another or reads as a total.
    Stages run from the top; within a stage the groups keep the frame's order (most leads first)."""
    fig = go.Figure()
    groups = list(df.groupby(by, sort=False)) if len(df) else []
    stages = list(dict.fromkeys(df["stage"].astype(str)))
    for value, part in groups:
        pf = part["pct_of_first"].to_numpy(dtype=float)
        pp = part["pct_of_previous"].to_numpy(dtype=float)
        text = [
            f"{n:,} ({a:.1f}%)" if not np.isnan(a) else f"{n:,}"
            for n, a in zip(part["leads"], pf, strict=True)
        ]
        fig.add_trace(
            go.Bar(
                y=part["stage"].astype(str),
                x=np.nan_to_num(pf),
                orientation="h",
                name=str(value),
                text=text,
                textposition="outside",
                textfont={"size": 12},
                cliponaxis=False,
                marker_color=color_of(value, colors),
                customdata=np.stack([part["leads"].to_numpy(dtype=float), pf, pp], axis=1),
                hovertemplate="%{fullData.name}<br>%{y}: %{customdata[0]:,.0f} leads"
                "<br>%{customdata[1]:.1f}% of first stage<br>%{customdata[2]:.1f}% of previous stage"
                "<extra></extra>",
            )
        )
    default = f"Funnel by {dim_label(by).lower()}: % of each group's first stage (junk excluded)"
    _layout(
        fig,
        _title(title, default, period_label),
        "% of the group's first stage (label: leads and %)",
        "Stage",
        barmode="group",
        bargap=0.25,
        bargroupgap=0.05,
        legend_title=dim_label(by),
        height=max(360, 120 + len(stages) * (len(groups) * 24 + 24)),
    )
    fig.update_layout(legend={"traceorder": "normal"})
    fig.update_xaxes(range=[0, 130], ticksuffix="%", tickvals=[0, 25, 50, 75, 100])
    fig.update_yaxes(
        categoryorder="array", categoryarray=_safe(stages), autorange="reversed", automargin=True
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
    "junk_rate": "Junk rate: junk ÷ leads, 95 % CI",
}
_RATE_METRICS = ("conversion_rate", "share", "junk_rate")
_RATE_BOUNDS = {"conversion_rate": ("ci_low", "ci_high"), "junk_rate": ("junk_ci_low", "junk_ci_high")}


def utm_bar_chart(
    df: pd.DataFrame,
    dim: str,
    metric: str = "leads",
    title: str | None = None,
    period_label: str | None = None,
    top: int | None = 20,
    color_by: str | None = None,
    dim_title: str | None = None,
) -> go.Figure:
    """Bars per ``dim`` value from ``analytics.utm_breakdown`` in the frame's order (the ``top`` first).

    Each bar has its value's ``color_of`` colour (or that of its ``color_by`` column, e.g. the source of a
    "source / medium" group), so a source looks the same in every chart. A rate (``conversion_rate``,
    ``junk_rate``) is drawn with its Wilson 95 % interval as error bars (``ci_low, ci_high`` /
    ``junk_ci_low, junk_ci_high``) and labelled with one decimal ("12.0%"). Hover shows leads, won, junk,
    conversion and share. ``dim_title`` names the bars' axis (default: the dimension's label)."""
    part = df.head(top) if top else df
    axis = dim_title or dim_label(dim)
    y = part[metric].to_numpy(dtype=float)
    err = None
    bounds = _RATE_BOUNDS.get(metric)
    if bounds and all(b in part for b in bounds):
        err = {
            "type": "data",
            "symmetric": False,
            "array": np.nan_to_num(part[bounds[1]].to_numpy(dtype=float) - y),
            "arrayminus": np.nan_to_num(y - part[bounds[0]].to_numpy(dtype=float)),
            "color": "#555",
        }
    cols = [c for c in ("leads", "won", "junk", "conversion_rate", "ci_low", "ci_high", "share") if c in part]
    custom = part[cols].to_numpy(dtype=float)
    pos = {c: i for i, c in enumerate(cols)}
    hover = [f"{axis}: %{{x}}"]
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
    if metric == "junk_rate":
        hover.append("junk rate %{y:.1%}")
    rate = metric in _RATE_METRICS
    fig = go.Figure(
        go.Bar(
            x=part[dim].astype(str),
            y=y,
            error_y=err,
            marker_color=_color_for(part[color_by or dim].astype(str).tolist(), None),
            text=[_pct(v) for v in y] if rate else None,
            textposition="inside" if rate else None,
            insidetextanchor="start" if rate else None,
            customdata=custom,
            hovertemplate="<br>".join(hover) + "<extra></extra>",
        )
    )
    label = _METRIC_LABEL.get(metric, metric)
    default = f"{label.split(':')[0].split(' (')[0]} by {axis}"
    _layout(fig, _title(title, default, period_label), axis, label)
    if rate:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(automargin=True)
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


# --------------------------------------------------------------------------------------------------
# Spend and return
# --------------------------------------------------------------------------------------------------


def _money_axis(currency: str) -> str:
    return f"Spend ({currency})"


def spend_leads_chart(
    df: pd.DataFrame, freq: str = "W", currency: str = "ILS", title: str | None = None
) -> go.Figure:
    """Spend (bars, left axis) and new leads (line, right axis) per bucket from ``analytics.spend_over_time``
    (``period, spend, leads, cost_per_lead``); hover shows the cost per lead of the bucket."""
    f = str(freq).upper()[:1]
    word = _FREQ_WORD.get(f, "period")
    cpl = df["cost_per_lead"].to_numpy(dtype=float)
    cpl_text = ["–" if np.isnan(v) else f"{v:,.2f} {currency}" for v in cpl]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=df["period"],
            y=df["spend"],
            name=f"Spend ({currency})",
            marker_color="#F58518",
            customdata=np.array(cpl_text, dtype=object),
            hovertemplate=f"%{{x|%d %b %Y}}<br>spend %{{y:,.2f}} {currency}<br>cost per lead %{{customdata}}"
            "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=df["period"],
            y=df["leads"],
            name="New leads",
            mode="lines+markers",
            yaxis="y2",
            line_color=ROLE_COLORS["open"],
            hovertemplate="%{x|%d %b %Y}<br>%{y:,} new leads<extra></extra>",
        )
    )
    _layout(
        fig,
        _title(title, f"Spend and new leads per {word}", None),
        f"{_FREQ_UNIT.get(f, 'Period')} (display time zone)",
        _money_axis(currency),
        yaxis2={
            "title": {"text": "New leads (count)"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
        legend_title="",
    )
    # _layout titles every y axis: the right one counts leads
    fig.update_layout(
        yaxis={"rangemode": "tozero"},
        yaxis2={
            "title": {"text": "New leads (count)"},
            "tickmode": "auto",
            "showgrid": False,
            "tickformat": ",~r",
        },
        legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )
    _bucket_ticks(fig, df["period"], f)
    return fig


def _change_text(change: float) -> str:
    if change is None or np.isnan(change):
        return "new"
    text = f"{change:+.0%}"
    return "0%" if text in ("+0%", "-0%") else text


def cost_per_lead_chart(
    df: pd.DataFrame,
    dim: str = "utm_source",
    currency: str = "ILS",
    title: str | None = None,
    top: int = 15,
    compare: bool = True,
) -> go.Figure:
    """Cost per lead per ``dim`` value from ``analytics.cost_per_lead_change``: this period's bar in the
    value's colour next to the previous period's (grey), labelled with the change ("-12%"; "new" when the
    previous period had no cost per lead). A cost that went up is worse. ``compare=False`` (e.g. "All time")
    draws this period's bars alone."""
    part = df.head(top)
    x = part[dim].astype(str)
    now = part["cost_per_lead"].to_numpy(dtype=float)
    before = part["cost_per_lead_prev"].to_numpy(dtype=float)
    changes = [_change_text(c) for c in part["change"].to_numpy(dtype=float)]
    fig = go.Figure()
    if not compare:
        changes = [""] * len(part)
    fig.add_trace(
        go.Bar(
            visible=compare,
            x=x,
            y=before,
            name="Previous period",
            marker_color="#BDBDBD",
            customdata=part[["spend_prev", "leads_prev"]].to_numpy(dtype=float),
            hovertemplate=f"%{{x}}, previous period<br>cost per lead %{{y:,.2f}} {currency}<br>"
            f"spend %{{customdata[0]:,.2f}} {currency} · %{{customdata[1]:,.0f}} leads<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=x,
            y=now,
            name="This period",
            marker_color=_color_for(x.tolist(), None),
            text=changes,
            textposition="outside",
            customdata=[[s, n, c] for s, n, c in zip(part["spend"], part["leads"], changes, strict=True)],
            hovertemplate=f"%{{x}}, this period<br>cost per lead %{{y:,.2f}} {currency} "
            + ("(%{customdata[2]})" if compare else "")
            + f"<br>spend %{{customdata[0]:,.2f}} {currency} · "
            "%{customdata[1]:,.0f} leads<extra></extra>",
        )
    )
    _layout(
        fig,
        _title(title, f"Cost per lead by {dim_label(dim)}", None),
        dim_label(dim),
        f"Cost per lead ({currency})",
        barmode="group",
        showlegend=compare,
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(rangemode="tozero")
    return fig


# --------------------------------------------------------------------------------------------------
# Status history
# --------------------------------------------------------------------------------------------------


def _rgba(color: str, alpha: float) -> str:
    """A "#RRGGBB" colour as "rgba(r, g, b, alpha)" (Sankey links are the source's colour, see-through)."""
    r, g, b = (int(color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def status_flow_sankey(
    flow: pd.DataFrame,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
    period_label: str | None = None,
) -> go.Figure:
    """A Sankey of the status changes from ``analytics.status_flow`` (``from_status_id, from_status,
    to_status_id, to_status, changes``): the statuses left on the left, the statuses entered on the right
    (a status can be on both sides; going back and forth reads as two bands, not a loop), each band as wide
    as its number of changes. Nodes have their status colour (``colors`` from ``status_colors``, by id;
    unknown statuses grey), bands their source's colour. Status names are CRM text: shown literally (Hebrew
    and emoji as they are, ``<``/``&`` escaped for Plotly)."""
    colors = colors or {}
    lefts = list(dict.fromkeys(zip(flow["from_status_id"], flow["from_status"], strict=True)))
    rights = list(dict.fromkeys(zip(flow["to_status_id"], flow["to_status"], strict=True)))
    nodes = lefts + rights

    def color(sid) -> str:
        return colors.get(str(sid), UNKNOWN_COLOR) if isinstance(sid, str) else UNKNOWN_COLOR

    left_at = {key: i for i, key in enumerate(lefts)}
    right_at = {key: len(lefts) + i for i, key in enumerate(rights)}
    source = [left_at[k] for k in zip(flow["from_status_id"], flow["from_status"], strict=True)]
    target = [right_at[k] for k in zip(flow["to_status_id"], flow["to_status"], strict=True)]
    names = _safe([str(name) for _, name in nodes])
    weights = flow["changes"].to_numpy(dtype=float)
    node_total = (
        np.bincount(source, weights, minlength=len(nodes))
        + np.bincount(target, weights, minlength=len(nodes))
    ).astype(int)
    side = ["left"] * len(lefts) + ["entered"] * len(rights)
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": names,
                "color": [color(sid) for sid, _ in nodes],
                "pad": 14,
                "thickness": 16,
                "customdata": [
                    f"{n:,} change{'' if n == 1 else 's'} {'out of' if s == 'left' else 'into'} this status"
                    for n, s in zip(node_total, side, strict=True)
                ],
                "hovertemplate": "%{label}<br>%{customdata}<extra></extra>",
            },
            link={
                "source": source,
                "target": target,
                "value": flow["changes"].astype(int).tolist(),
                "color": [_rgba(color(sid), 0.45) for sid in flow["from_status_id"]],
                "customdata": [f"{names[s]} → {names[t]}" for s, t in zip(source, target, strict=True)],
                "hovertemplate": "%{customdata}<br>%{value:,} changes<extra></extra>",
            },
        )
    )
    _layout(fig, _title(title, "Status changes: from (left) → to (right)", period_label), None, None)
    return fig


def speed_to_lead_chart(
    speed: pd.DataFrame, by: str, title: str | None = None, period_label: str | None = None, top: int = 20
) -> go.Figure:
    """Horizontal bars per group from ``analytics.speed_to_lead(..., by=by)``: the share handled within
    1 hour and within 1 working day side by side (of the leads old enough to be judged, which the hover
    gives), the groups in the frame's order from the top (the ``top`` first). Group names are literal."""
    part = speed.head(top)
    groups = part[by].astype(str).tolist()  # escaped for Plotly by _layout
    fig = go.Figure()
    for share, judged, label, color in (
        ("within_1h", "judged_1h", "Within 1 hour", "#4C78A8"),
        ("within_1_working_day", "judged_1_working_day", "Within 1 working day", "#72B7B2"),
    ):
        values = part[share].to_numpy(dtype=float)
        fig.add_trace(
            go.Bar(
                y=groups,
                x=values,
                orientation="h",
                name=label,
                marker_color=color,
                text=[_pct(v) if not np.isnan(v) else "" for v in values],
                textposition="auto",
                customdata=part[judged].to_numpy(dtype=float),
                hovertemplate=(
                    f"%{{y}}<br>{label}: %{{x:.1%}} of %{{customdata:,.0f}} leads judged<extra></extra>"
                ),
            )
        )
    axis = dim_label(by)
    default = f"Leads handled in time by {axis.lower() if by == 'owner' else axis}"
    _layout(
        fig, _title(title, default, period_label), "Share of leads old enough to judge", axis, barmode="group"
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1.05])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig
