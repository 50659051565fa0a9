"""AppTest of every dashboard page on a small CRM whose numbers are worked out by hand, and on an empty one.

The CRM is a real v2 demo server on loopback (`serve_leads`) holding exactly ITEMS. Today = T (Jerusalem);
the default period is the last 30 days, T-29 .. T.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from tests.conftest import jerusalem_today, lead_item, run_app

INTERESTED = "233283533732676958969773898519982777485"  # ⚡️ מעוניין: open, stage 2 (Interested)

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def ID(n: int) -> str:  # lead_item's id for lead n
    return str(900000000000000000000000000000000000000 + n)


ITEMS = [
    lead_item(1, "new", 0, "10:00:00", utm_source="fb", owner="Dana"),
    lead_item(2, "converted", 1, "09:00:00", utm_source="Facebook", owner="Dana"),
    lead_item(3, "returning", 5, "12:00:00", utm_source="פייסבוק", owner="Avi"),  # won
    lead_item(4, "duplicate", 10, "15:00:00", utm_source="google", owner="Avi"),  # junk
    lead_item(5, "not_interested", 12, "11:00:00", utm_source="google", owner="Dana"),  # lost, stage 1
    lead_item(6, "no_answer", 3, "08:00:00", name="=1+2 Cohen", f_name="=1+2 Cohen"),  # open, stage 1
    lead_item(7, "new", 20, "14:00:00", utm_source="google", owner="Avi", lead_status=INTERESTED),  # stage 2
    lead_item(8, "converted", 40, "10:00:00", utm_source="google", owner="Avi"),  # before the period
    lead_item(9, "faulty", 2, "16:00:00", utm_source="fb", owner="Dana"),  # junk
    lead_item(10, "converted", 7, "13:00:00", utm_source="google", owner="Avi"),
    lead_item(
        11, "duplicate", 8, "13:00:00", utm_source="google", owner="Dana", phone="050-111-2233"
    ),  # junk
]
# In the period (T-29 .. T): leads 1-7, 9, 10, 11 = 10 leads; won 2, 3, 10 = 3; junk 4, 9, 11 = 3.
# Conversion 3 / (10 - 3) = 42.9 %, junk rate 3 / 10 = 30.0 %.
# Funnel (junk left out: 1, 2, 3, 5, 6, 7, 10 = 7 leads), a lead counts in every stage up to its own:
#   New 7 · Contacted (stage >= 1: 2, 3, 5, 6, 7, 10) 6 · Interested (>= 2: 2, 3, 7, 10) 4 · Customer 3.
# Sources: facebook = fb / Facebook / פייסבוק: leads 1, 2, 3, 9 -> 4 leads, 2 won, 1 junk, 0 lost, 1 open,
#   conversion 2 / 3; google: 4, 5, 7, 10, 11 -> 5 leads, 1 won, 2 junk, 1 lost, 1 open, conversion 1 / 3;
#   (none): lead 6 -> 1 lead, open.


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def records(frame) -> list[dict]:
    return frame.to_dict("records")


# -- Overview --------------------------------------------------------------------------------------------


def test_overview_kpis_and_top_sources(serve_leads):
    serve_leads(ITEMS)
    at = run_app()
    assert at.title[0].value == "Overview"
    assert metrics(at) == {
        "Leads": "10",
        "Became customers": "3",
        "Conversion rate": "42.9%",
        "Junk rate": "30.0%",
    }
    top = at.dataframe[0].value
    assert list(top["utm_source"]) == ["google", "facebook", "(none)"]
    assert list(top["leads"]) == [5, 4, 1]
    assert list(top["won"]) == [1, 2, 0]


# -- Funnel ----------------------------------------------------------------------------------------------


def test_funnel_table_counts_each_lead_up_to_its_stage(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/funnel.py")
    assert at.title[0].value == "Funnel"
    steps = at.dataframe[0].value
    assert list(steps["stage"]) == ["New", "Contacted", "Interested", "Customer"]
    assert list(steps["leads"]) == [7, 6, 4, 3]
    # percentages (0-100): of the 7 in the first stage, and of the stage before
    assert steps["% of first stage"].round(2).tolist() == [100.0, 85.71, 57.14, 42.86]
    assert steps["% of previous stage (step conversion)"].round(2).tolist()[1:] == [85.71, 66.67, 75.0]
    assert len(at.get("plotly_chart")) == 2  # the funnel and the funnel split by UTM source


def test_funnel_split_by_owner(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/funnel.py")
    at.selectbox(key="split").set_value("Owner").run()
    split = at.dataframe[1].value
    # Avi (non-junk): 3 won, 7 interested, 10 won -> New 3, Contacted 3, Interested 3, Customer 2
    # Dana (non-junk): 1 new, 2 won, 5 lost -> New 3, Contacted 2, Interested 1, Customer 1
    # (unassigned): 6 no answer -> New 1, Contacted 1
    got = {(r["owner"], r["stage"]): r["leads"] for r in records(split)}
    assert {k: v for k, v in got.items() if k[0] == "Avi"} == {
        ("Avi", "New"): 3, ("Avi", "Contacted"): 3, ("Avi", "Interested"): 3, ("Avi", "Customer"): 2,
    }  # fmt: skip
    assert {k: v for k, v in got.items() if k[0] == "Dana"} == {
        ("Dana", "New"): 3, ("Dana", "Contacted"): 2, ("Dana", "Interested"): 1, ("Dana", "Customer"): 1,
    }  # fmt: skip


# -- Statuses --------------------------------------------------------------------------------------------


def test_statuses_breakdown_rows(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/statuses.py")
    assert at.title[0].value == "Statuses"
    rows = {r["status"]: (r["leads"], round(r["share"], 4)) for r in records(at.dataframe[0].value)}
    assert rows["🎉 הומר ללקוח"] == (2, 0.2)
    assert rows["❗️ כפול"] == (2, 0.2)
    assert rows["⚠️ לקוח חוזר"] == (1, 0.1)
    assert rows["🌟 בטיפול"] == (0, 0.0)  # an active status without leads still has its row
    assert sum(n for n, _ in rows.values()) == 10


def test_statuses_by_owner_and_open_ages(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/statuses.py")
    by_owner = at.dataframe[1].value
    assert set(by_owner.columns) >= {"owner", "🎉 הומר ללקוח"}
    avi = records(by_owner[by_owner["owner"] == "Avi"])[0]
    assert avi["🎉 הומר ללקוח"] == 1 and avi["❗️ כפול"] == 1 and avi["⚡️ מעוניין"] == 1
    # Open leads: 1 (new, 0 days), 6 (no answer, 3 days), 7 (interested, 20 days)
    ages = {(r["age"], r["status"]): r["leads"] for r in records(at.dataframe[2].value)}
    assert ages == {("0–1 days", "💫 חדש"): 1, ("2–7 days", "☎️ אין מענה"): 1, ("8–30 days", "⚡️ מעוניין"): 1}


# -- Marketing -------------------------------------------------------------------------------------------


def test_marketing_counts_spellings_of_facebook_as_one_source(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/marketing.py")
    assert at.title[0].value == "Marketing"
    # 30 leads is the default minimum sample: no group of ITEMS is big enough to lead on a rate
    texts = [t.value for t in at.text]
    assert any(t.startswith("None of the named groups (source) with at least 30 leads") for t in texts)
    at.number_input(key="min_leads").set_value(3).run()
    # samples: facebook 4 - 1 junk = 3, google 5 - 2 = 3: conversion 2/3 = 66.7 % vs 1/3 -> facebook;
    # junk rate (of leads): facebook 1/4 = 25.0 %, google 2/5 = 40.0 % -> google
    texts = [t.value for t in at.text]
    assert texts[:2] == ["facebook", "google"]
    captions = [c.value for c in at.caption]
    assert any(c.startswith("66.7%: 2 customers of 3 leads (junk left out); 95 % range") for c in captions)
    assert any(c.startswith("40.0%: 2 junk leads of 5 leads; 95 % range") for c in captions)
    table = {r["utm_source"]: r for r in records(at.dataframe[0].value)}
    assert set(table) == {"facebook", "google", "(none)"}
    fb = table["facebook"]
    assert (fb["leads"], fb["won"], fb["lost"], fb["junk"], fb["open"]) == (4, 2, 0, 1, 1)
    assert fb["conversion_rate"] == 0.667  # 2 / 3, shown rounded to 66.7 %
    assert fb["share"] == pytest.approx(0.4)
    assert fb["ci_low"] < 2 / 3 < fb["ci_high"]
    google = table["google"]
    assert (google["leads"], google["won"], google["junk"]) == (5, 1, 2)
    assert google["conversion_rate"] == 0.333  # 1 / 3, shown rounded to 33.3 %


def test_marketing_data_quality_lists_each_raw_spelling(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/marketing.py")
    quality = at.dataframe[-1].value
    source_rows = quality[quality.iloc[:, 0] == "utm_source"] if quality.shape[1] > 3 else quality
    text = source_rows.astype(str).to_string()
    for raw in ("fb", "Facebook", "פייסבוק"):
        assert raw in text
    assert "facebook" in text


# -- Leads -----------------------------------------------------------------------------------------------


def test_leads_table_lists_the_period_newest_first(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/leads.py")
    assert at.title[0].value == "Leads"
    table = at.dataframe[0].value
    assert list(table["lead_id"]) == [ID(n) for n in (1, 2, 9, 6, 3, 10, 11, 4, 5, 7)]
    assert at.caption[0].value.startswith("10 leads created")


def test_leads_search_finds_a_phone_typed_with_dashes(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/leads.py")
    at.text_input(key="q").input("050-111-22").run()
    table = at.dataframe[0].value
    assert list(table["lead_id"]) == [ID(11)]
    assert list(table["phone"]) == ["050-111-2233"]  # stored as +972501112233, shown and found the local way
    assert at.caption[0].value == "1 lead found, created at any date."


def test_leads_search_without_a_match_says_so(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/leads.py")
    at.text_input(key="q").input("nobody-like-this").run()
    assert not at.dataframe
    assert at.info[0].value == "No lead matches the search."  # the query stays in its box, not in Markdown


def test_leads_csv_download_is_exactly_the_shown_row_with_the_formula_neutralised(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/leads.py")
    at.text_input(key="q").input("Cohen").run()
    assert list(at.dataframe[0].value["lead_id"]) == [ID(6)]
    created = f"{jerusalem_today() - timedelta(days=3):%Y-%m-%d} 08:00"
    expected = (
        "\ufeffcreated_at,name,phone,email,status,owner,company,utm_source,utm_medium,utm_campaign,"
        "updated_at,lead_id\n"
        # "=…" would run as a formula: it starts with an apostrophe; the phone is shown (and exported) the
        # local way, 0521234506 -> 052-123-4506, which no spreadsheet runs
        f"{created},'=1+2 Cohen,052-123-4506,,☎️ אין מענה,,,,,,{created},{ID(6)}\n"
    ).encode()
    (button,) = at.get("download_button")
    # The download's bytes stay inside AppTest's media store; its URL names them by their hash.
    assert button.proto.url == f"/mock/media/{_calculate_file_id(expected, 'text/csv', 'leads.csv')}.csv"


# -- Settings --------------------------------------------------------------------------------------------


def test_settings_shows_the_connection_without_the_token(serve_leads):
    crm = serve_leads(ITEMS)
    at = run_app("pages/settings.py")
    assert at.title[0].value == "Settings"
    text = " ".join(m.value for m in at.markdown)
    assert "**Leads in the store:** 11" in text and "configured (hidden)" in text
    assert crm.token not in text
    mapping = at.data_editor[0].value
    interested = records(mapping[mapping["status_id"] == INTERESTED])[0]
    assert (interested["role"], interested["stage"]) == ("open", "Interested")


def test_settings_test_connection_reports_success(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/settings.py")
    next(b for b in at.button if b.label == "Test connection").click().run()
    assert at.success[0].value.startswith("Connected to")
    assert "11 statuses" in at.success[0].value


def test_a_saved_role_override_changes_the_overview_customers(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/settings.py")
    mapping = at.data_editor[0].value
    row = int(mapping.index[mapping["status_id"] == INTERESTED][0])
    at.session_state["mapping_editor"] = {
        "edited_rows": {row: {"role": "won", "stage": "Customer"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    next(b for b in at.button if b.label == "Save mapping").click().run()
    assert not at.exception, at.exception
    at.switch_page("pages/overview.py").run()
    # lead 7 (⚡️ מעוניין) is now won: 4 customers, conversion 4 / 7
    assert metrics(at)["Became customers"] == "4"
    assert metrics(at)["Conversion rate"] == "57.1%"
    at.switch_page("pages/funnel.py").run()
    assert list(at.dataframe[0].value["leads"]) == [7, 6, 4, 4]


def test_a_saved_utm_alias_regroups_the_marketing_table(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/settings.py")
    at.session_state["alias_editor"] = {
        "edited_rows": {},
        "added_rows": [{"raw value": " Google ", "counts as": "Search"}],
        "deleted_rows": [],
    }
    next(b for b in at.button if b.label == "Save aliases").click().run()
    assert not at.exception, at.exception
    assert any("Aliases in force: your table" in c.value for c in at.caption)
    at.switch_page("pages/marketing.py").run()
    # google's 5 leads now count as "search" (aliases are trimmed and case-folded); facebook unchanged
    table = {r["utm_source"]: r["leads"] for r in records(at.dataframe[0].value)}
    assert table == {"search": 5, "facebook": 4, "(none)": 1}
    at.number_input(key="min_leads").set_value(5).run()
    # junk rate among sources with at least 5 leads: only search (2 junk of 5); facebook has 4 leads
    assert [t.value for t in at.text][1] == "search"
    # ... and the sidebar offers the new name as a source
    assert "search" in at.sidebar.multiselect(key="f_source").options


# -- An empty CRM ----------------------------------------------------------------------------------------

DASHBOARD_PAGES = ["pages/overview.py", "pages/funnel.py", "pages/statuses.py", "pages/marketing.py",
                   "pages/leads.py"]  # fmt: skip


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
def test_an_empty_crm_is_announced_on_every_page(serve_leads, page):
    serve_leads([])
    at = run_app(page)
    assert any("The CRM has no leads yet" in i.value for i in at.info), [i.value for i in at.info]
    assert len(at.get("plotly_chart")) == 0
    assert "0 leads" in at.sidebar.caption[0].value


def test_an_empty_crm_on_settings(serve_leads):
    serve_leads([])
    at = run_app("pages/settings.py")
    text = " ".join(m.value for m in at.markdown)
    assert "**Leads in the store:** 0" in text
    assert len(at.data_editor[0].value) == 11  # the status catalogue is still there to map


def test_filters_that_match_nothing_say_so(serve_leads):
    serve_leads(ITEMS)
    at = run_app("pages/funnel.py", preset="today", owner="Avi")  # Avi has no lead created today
    assert any("No leads match the filters" in i.value for i in at.info)
    assert not at.dataframe
