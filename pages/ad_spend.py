"""Ad spend: upload an ad platform's export (or our template), check how its columns were read, import it
(the same day × source × medium × campaign replaces, never doubles), and edit the stored spend by hand."""

import hashlib
import re

import pandas as pd
import streamlit as st

from lib import export, spend, ui


def literal(text: object) -> str:
    """File text (a name, a column) made literal inside Markdown: every Markdown and HTML sign escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\\\1", str(text))


s = ui.settings()
store = ui.store(s)
cur = s.currency

st.title("Ad spend")
st.caption(
    f"What the campaigns cost, per day, in the account currency ({cur}). Upload the daily campaign export of "
    "Meta Ads Manager, Google Ads or TikTok Ads (CSV or Excel, English or Hebrew interface), or fill in the "
    "template. Importing a day and campaign again replaces what was stored for it."
)
st.download_button(
    "Download a template",
    spend.template_csv(cur),
    file_name="ad-spend-template.csv",
    mime="text/csv",
    icon="📄",
    help="Columns: " + ", ".join(spend.FIELDS) + ". Dates as 2026-11-01 or 01/11/2026 (day first).",
)

if note := st.session_state.pop("spend-note", None):
    st.success(note, icon="✅")

upload = st.file_uploader("Upload an export", type=["csv", "xlsx"], key="spend-file")
if upload is not None:
    data = upload.getvalue()
    fid = hashlib.sha1(data + upload.name.encode()).hexdigest()[:10]  # widgets start afresh for a new file
    try:
        raw = spend.read_file(data, upload.name)
    except spend.SpendFileError as exc:
        st.error(literal(exc), icon="⚠️")
        raw = None
    if raw is not None:
        guess = spend.guess_mapping(raw)
        st.subheader("Columns")
        st.caption(
            f"The header was found on row {raw.header_row}; {len(raw.rows):,} rows below it. Check how each "
            "column was read and correct it if needed."
        )
        platforms = list(spend.PLATFORMS)
        platform = st.selectbox(
            "Platform (gives the UTM source and medium when the file has no column for them)",
            platforms,
            index=platforms.index(guess.platform),
            format_func=lambda k: spend.PLATFORMS[k][0],
            key=f"platform-{fid}",
        )
        none = "(none)"
        options = [none, *raw.columns]
        chosen: dict[str, str | None] = {}
        cols = st.columns(3)
        for i, name in enumerate(spend.FIELDS):
            column = guess.columns.get(name)
            pick = cols[i % 3].selectbox(
                spend.FIELD_LABELS[name],
                options,
                index=options.index(column) if column in options else 0,
                key=f"map-{name}-{fid}",
            )
            chosen[name] = None if pick == none else pick
        mapping = spend.with_columns(guess, platform, chosen)
        if mapping.header_currency and not mapping.columns.get("currency"):
            st.caption(f"Currency taken from the spend column's header: {mapping.header_currency}.")

        first = spend.apply_mapping(raw, mapping, account_currency=cur)
        rates: dict[str, float] = {}
        if first.currencies:
            st.subheader("Exchange rates")
            rate_cols = st.columns(max(len(first.currencies), 3))
            for i, code in enumerate(first.currencies):
                rates[code] = rate_cols[i].number_input(
                    f"1 {code} = … {cur}",
                    min_value=0.0,
                    value=0.0,
                    step=0.01,
                    format="%.4f",
                    key=f"rate-{code}-{fid}",
                    help=f"Rows in {code} are refused until a rate is entered; they are stored in {cur}.",
                )
        result = spend.apply_mapping(raw, mapping, account_currency=cur, rates=rates)

        st.subheader("Preview")
        general = [e.problem for e in result.errors if e.row is None]
        for problem in general:
            st.warning(problem, icon="⚠️")
        preview = result.frame().rename(
            columns={
                "rows": "File row",
                "date": "Date",
                "utm_source": "UTM source",
                "utm_medium": "UTM medium",
                "utm_campaign": "UTM campaign",
                "spend": f"Spend ({cur})",
            }
        )
        if len(preview):
            st.dataframe(
                preview.head(50),
                hide_index=True,
                column_config={f"Spend ({cur})": st.column_config.NumberColumn(format="%.2f")},
            )
            total = sum(r["spend"] for r in result.rows)
            st.caption(
                f"{len(result.rows):,} rows (day × source × medium × campaign) worth {total:,.2f} {cur}"
                + ("; the first 50 shown" if len(preview) > 50 else "")
                + (f"; {result.totals_dropped} totals row(s) left out" if result.totals_dropped else "")
                + "."
            )
        row_errors = [e for e in result.errors if e.row is not None]
        if row_errors:
            st.markdown(f"**{len(row_errors):,} rows cannot be imported:**")
            bad = (
                result.errors_frame()
                .dropna(subset=["row"])
                .rename(columns={"row": "Row", "problem": "Problem"})
            )
            st.dataframe(bad, hide_index=True)
        n = len(result.rows)
        if st.button(
            f"Import {n:,} {'row' if n == 1 else 'rows'}",
            type="primary",
            disabled=n == 0 or bool(general),
            key=f"go-{fid}",
        ):
            inserted, replaced = store.save_spend(result.rows, source_file=upload.name)
            st.session_state["spend-note"] = (
                f"Imported: {inserted:,} new {'row' if inserted == 1 else 'rows'}, {replaced:,} replaced "
                "(the same day, source, medium and campaign as before)."
            )
            st.rerun()

st.subheader("Stored spend")
stored = store.spend_frame()
if stored.empty:
    st.info("No spend is stored yet. Upload an export above, or add rows here by hand.")
st.caption(
    f"Edit a value, add a row at the bottom, or select rows and delete them; then save. Amounts in {cur}."
)
edited = st.data_editor(
    stored,
    num_rows="dynamic",
    hide_index=True,
    key=f"spend-table-{store.version()}",  # a saved table starts a fresh editor
    column_config={
        "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD", required=True),
        "utm_source": st.column_config.TextColumn("UTM source"),
        "utm_medium": st.column_config.TextColumn("UTM medium"),
        "utm_campaign": st.column_config.TextColumn("UTM campaign"),
        "spend": st.column_config.NumberColumn(f"Spend ({cur})", min_value=0.0, format="%.2f", required=True),
    },
)
save_col, csv_col = st.columns([1, 3])
if save_col.button("Save changes", icon="💾"):
    rows, problems = spend.clean_table(edited)
    if problems:
        st.error("Nothing was saved. Fix these lines first:", icon="⚠️")
        st.dataframe(pd.DataFrame({"Problem": problems}), hide_index=True)
    else:
        store.replace_spend_table(rows)
        st.session_state["spend-note"] = f"Saved: {len(rows):,} rows of spend."
        st.rerun()
csv_col.download_button(
    "Download CSV", export.to_csv(stored), file_name="ad-spend.csv", mime="text/csv", icon="⬇️"
)

if not stored.empty:
    st.subheader("Spend per month")
    ui.table(
        spend.monthly_totals(stored).rename(columns={"month": "Month", "spend": f"Spend ({cur})"}),
        "ad-spend-per-month",
        column_config={f"Spend ({cur})": st.column_config.NumberColumn(format="%.2f")},
    )
