"""Marketing: which sources, media and campaigns bring leads that convert, and which bring junk."""

import streamlit as st

from lib import analytics, charts, ui
from lib.ui import roi

p = ui.page()
st.title("Marketing")
st.caption(
    f"Leads created {p.period}, grouped by their cleaned UTM values (spellings such as “fb”, “Facebook” and "
    "“פייסבוק” count as one source; edit the aliases under Settings)."
)
INTERVAL = (
    "Conversion rate = customers ÷ (leads − junk). With 95 % confidence the true conversion rate lies between "
    "the low and high values (the error bars on the charts); small groups have wide ranges."
)

if not ui.no_leads_notice(p):
    dims = {"Source": "utm_source", "Medium": "utm_medium", "Campaign": "utm_campaign", "Term": "utm_term",
            "Content": "utm_content", "Channel": "channel", **ui.extra_dimensions(p.data.leads)}  # fmt: skip
    picked = st.pills(
        "Group by", list(dims), selection_mode="multi", default=["Source"], key="group", bind="query-params"
    ) or ["Source"]
    by = tuple(dims[d] for d in picked)
    metrics = {"Leads": "leads", "Customers": "won", "Conversion rate": "conversion_rate", "Junk": "junk",
               "Junk rate": "junk_rate", "Share of leads": "share"}  # fmt: skip
    left, right = st.columns(2)
    sort_label = left.selectbox("Sort by", list(metrics), key="sort", bind="query-params")
    min_help = (
        "Rates are compared only for groups with at least this many leads (junk left out for the conversion "
        "rate): the rate of a handful of leads swings by chance."
    )
    min_sample = int(
        right.number_input(
            "Minimum sample for rates",
            min_value=1,
            value=30,
            step=5,
            key="min_leads",
            bind="query-params",
            help=min_help,
        )
    )
    metric = metrics[sort_label]
    table = analytics.utm_breakdown(
        p.leads, p.statuses, by=by, aliases=p.aliases, sort_by=metric, min_sample=min_sample
    )
    name = " / ".join(picked).lower()
    label = " / ".join

    # Leaders by rate, among groups big enough to compare; "(none)" is never a leader.
    found = analytics.leaders(table, by, min_sample)
    sample_note = f"groups ({name}) with at least {min_sample} leads"
    boxes = st.columns(2)
    for box, leader, title, count_word, nothing in (
        (boxes[0], "conversion", "Best conversion rate", "customers",
         "No customers in this period, so no group leads on conversion."
         if table["won"].sum() == 0 else
         f"None of the named {sample_note} (junk left out) has a customer; lower the minimum sample to compare "
         "smaller groups."),
        (boxes[1], "junk", "Highest junk rate", "junk leads",
         "No junk leads in this period."
         if table["junk"].sum() == 0 else
         f"None of the named {sample_note} has junk leads; lower the minimum sample to compare smaller groups."),
    ):  # fmt: skip
        with box.container(border=True):
            st.caption(f"{title} ({name}, at least {min_sample} leads)")
            row = found[found["leader"] == leader]
            if row.empty:
                st.text(nothing)
                continue
            row = row.iloc[0]
            st.text(label(str(row[c]) for c in by))  # CRM values: shown as text, never as Markdown
            st.caption(
                f"{ui.percent(row['rate'])}: {int(row['count']):,} {count_word} of {int(row['sample']):,} "
                f"leads{' (junk left out)' if leader == 'conversion' else ''}; 95 % range "
                f"{ui.percent(row['ci_low'])}–{ui.percent(row['ci_high'])}"
            )

    dim = by[0] if len(by) == 1 else "group"
    chart_frame = (
        table if len(by) == 1 else table.assign(group=table[list(by)].astype(str).agg(" / ".join, axis=1))
    )
    st.plotly_chart(
        charts.utm_bar_chart(chart_frame, dim, metric if metric != "share" else "leads", color_by=by[0],
                             title=f"{sort_label} by {name}, {p.period}", dim_title=" / ".join(picked)),
        key="mkt_bars",
    )  # fmt: skip
    if metric in analytics.RATE_SAMPLES:
        st.caption(
            f"Sorted by {sort_label.lower()} among {sample_note}"
            f"{' (junk left out)' if metric == 'conversion_rate' else ''}; smaller groups follow, also by rate."
        )
    st.caption(INTERVAL)
    ui.table(table, "utm-breakdown", column_config=ui.RATE_COLUMNS)

    st.subheader("Cost and return")
    code = roi.currency(p.settings)
    all_spend = roi.spend(p.settings)
    period_spend = None
    if all_spend is not None:
        period_spend = analytics.spend_in_period(
            analytics.filter_spend(all_spend, p.filter, p.aliases), p.start, p.end
        )
    if all_spend is None:
        st.info(
            "No ad spend has been entered yet. Upload your ad spend on the Ad spend page to see spend, cost per "
            "lead, cost per customer and return on ad spend (ROAS) for each group here."
        )
    elif period_spend.empty:
        st.info(f"No ad spend entered for {p.period} (with these filters). Upload it on the Ad spend page.")
    else:
        cost = analytics.roi_breakdown(p.leads, p.statuses, period_spend, by, p.aliases)
        notes = [
            f"Ad spend dated {p.period} against the leads created then, by {name}; spend is matched to leads by "
            "the same cleaned UTM values (aliases included). Customers: those leads whose status now is won; "
            "revenue: their price in the CRM; ROAS = revenue ÷ spend."
        ]
        if not set(by) <= {*analytics.SPEND_FIELDS, "channel"}:
            notes.append(
                "Ad spend has only source, medium and campaign: grouped by anything else, all the spend falls in "
                "“(none)”."
            )
        if p.filter.status_ids or p.filter.owners:
            notes.append("Spend is not split by status or owner: the costs here are per lead of the filter.")
        if cost["revenue"].isna().all():
            notes.append("The CRM has no prices for these leads, so revenue and ROAS are unknown.")
        st.caption(" ".join(notes))
        ui.table(
            cost.drop(columns=["no_spend", "no_leads"]),
            "cost-and-return",
            column_config=roi.roi_columns(code),
        )
        spent, leads_n, won_n = cost["spend"].sum(), int(cost["leads"].sum()), int(cost["customers"].sum())
        paid = cost[~cost["no_spend"]]
        paid_n, paid_won = int(paid["leads"].sum()), int(paid["customers"].sum())
        st.caption(
            f"In all: {roi.money(spent, code)} spent. Over the {ui.count(paid_n, 'lead')} of the groups with "
            f"spend: {roi.money(spent / paid_n if paid_n else None, code)} per lead, "
            f"{roi.money(spent / paid_won if paid_won else None, code)} per customer ({paid_won:,}). Blended over "
            f"all {ui.count(leads_n, 'lead')} (organic included): {roi.money(spent / leads_n if leads_n else None, code)} "
            f"per lead, {roi.money(spent / won_n if won_n else None, code)} per customer ({won_n:,})."
        )

        days = (p.end - p.start).days + 1
        per = "D" if days <= 31 else "W" if days <= 190 else "M"
        over_time = analytics.spend_over_time(period_spend, p.leads, per, p.settings.timezone, p.start, p.end)
        word = {"D": "day", "W": "week", "M": "month"}[per]
        st.plotly_chart(
            charts.spend_leads_chart(
                over_time, per, code, title=f"Ad spend and new leads per {word}, {p.period}"
            ),
            key="mkt_spend_time",
        )
        change = analytics.cost_per_lead_change(
            p.scoped, p.statuses, analytics.filter_spend(all_spend, p.filter, p.aliases), p.start, p.end,
            p.settings.timezone, "utm_source", p.aliases,
        )  # fmt: skip
        if len(change):
            compare = analytics.previous_start(ui.chosen_preset(), p.start, p.end) is not None
            against = f", {p.period} against the {days} days before" if compare else f", {p.period}"
            st.plotly_chart(
                charts.cost_per_lead_chart(change, "utm_source", code, compare=compare,
                                           title=f"Cost per lead by UTM source{against}"),
                key="mkt_cpl_change",
            )  # fmt: skip
            if compare:
                st.caption(
                    f"Each source's cost per lead against the {ui.count(days, 'day')} just before the period "
                    "(grey); the label is the change (a cost going up is worse; “new”: no cost per lead before)."
                )

        orphan = analytics.unmatched_spend(p.leads, period_spend, by, p.aliases, p.statuses)
        unspent = cost[cost["no_spend"]][[*by, "leads", "customers"]]
        st.markdown("**Spend without leads**")
        if orphan.empty:
            st.text("Every spend row of the period meets leads of its group.")
        else:
            st.caption(
                f"{roi.money(orphan['spend'].sum(), code)} of spend matches no lead of the period: a spelling "
                "the aliases do not know yet (add it under Settings), or a campaign that brought no lead."
            )
            ui.table(orphan, "spend-without-leads", column_config={"spend": roi.roi_columns(code)["spend"]})
        st.markdown("**Leads without spend**")
        if unspent.empty:
            st.text("Every group with leads has spend entered.")
        else:
            st.caption(
                "Groups with leads but no spend entered for the period: organic or free sources, or spend not "
                "uploaded yet (their cost per lead is left empty, not 0)."
            )
            ui.table(unspent, "leads-without-spend")

    st.subheader("Conversion by source → medium → campaign")
    levels = {"Source": 1, "Source / medium": 2, "Source / medium / campaign": 3}
    depth = levels[st.segmented_control("Down to", list(levels), default="Source / medium", key="depth", bind="query-params")
                   or "Source / medium"]  # fmt: skip
    path = ("utm_source", "utm_medium", "utm_campaign")[:depth]
    level = " / ".join(c.removeprefix("utm_") for c in path)
    tree = analytics.utm_breakdown(p.leads, p.statuses, by=path, aliases=p.aliases, sort_by="conversion_rate")
    big = analytics.comparable(tree, "conversion_rate", min_sample, named=("utm_source",))
    if tree["won"].sum() == 0:
        st.text("No customers in this period, so there is no conversion to compare.")
    elif big.empty:
        st.text(
            f"No {level} group with a known source has at least {min_sample} leads (junk left out) yet; lower "
            "the minimum sample to compare smaller ones."
        )
    else:
        st.caption(
            f"Groups with a known source and at least {min_sample} leads (junk left out), best conversion "
            "first; the error bars are the 95 % range."
        )
        combos = big.assign(group=big[list(path)].astype(str).agg(" / ".join, axis=1))
        st.plotly_chart(
            charts.utm_bar_chart(combos, "group", "conversion_rate", top=15, color_by="utm_source",
                                 title=f"Conversion rate by {level}, {p.period}", dim_title=level.capitalize()),
            key="mkt_combos",
        )  # fmt: skip

    st.subheader("Trend by source")
    freq = (
        st.segmented_control(
            "Per", ["Day", "Week", "Month"], default="Week", key="mkt_per", bind="query-params"
        )
        or "Week"
    )
    trend = analytics.leads_over_time(p.leads, freq[0], p.settings.timezone, by="utm_source", start=p.start,
                                      end=p.end, aliases=p.aliases)  # fmt: skip
    top = trend.groupby("utm_source", observed=True)["leads"].sum().nlargest(6).index
    trend = trend.assign(utm_source=trend["utm_source"].where(trend["utm_source"].isin(top), analytics.OTHER))
    trend = trend.groupby(["period", "utm_source"], as_index=False, observed=True)["leads"].sum()
    st.plotly_chart(
        charts.leads_over_time_chart(trend, freq[0], by="utm_source",
                                     title=f"Leads per {freq.lower()} by UTM source (top 6), {p.period}"),
        key="mkt_trend",
    )  # fmt: skip

    st.subheader("UTM data quality")
    st.caption(
        "Every raw value, how many leads carry it and what it is cleaned to: spot typos and unmapped spellings."
    )
    ui.table(analytics.utm_quality(p.leads, p.aliases), "utm-data-quality")
