"""AppTest of sign-in and roles: with sign-in required, every page URL shows the sign-in form and nothing
else; each role opens exactly its pages (others say "Not allowed"); marketing's lead table and CSV are
masked; the front desk only looks leads up exactly; sign-out, idle expiry and the audit log.

The CRM is a real v2 demo server on loopback (`serve_leads`) holding three leads.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from streamlit import config as st_config
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from lib import auth
from lib.config import load_settings
from lib.store import Store
from tests.conftest import APP, jerusalem_today, lead_item

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

PASSWORD = "correct horse battery"


def ID(n: int) -> str:  # lead_item's id for lead n
    return str(900000000000000000000000000000000000000 + n)


ITEMS = [
    lead_item(1, "new", 1, "10:00:00", name="יוסי כהן", f_name="יוסי", phone="054-123-4567",
              email="yossi@gmail.com"),
    lead_item(2, "converted", 2, "11:00:00", name="Dana Levi", f_name="Dana", phone="050-765-4321"),
    lead_item(3, "no_answer", 3, "12:00:00", name="Dana Levinson", f_name="Dana", phone="052-111-1111"),
]  # fmt: skip
PAGES = {  # page file -> its title
    "pages/overview.py": "Overview",
    "pages/funnel.py": "Funnel",
    "pages/statuses.py": "Statuses",
    "pages/goals.py": "Goals",
    "pages/marketing.py": "Marketing",
    "pages/ad_spend.py": "Ad spend",
    "pages/leads.py": "Leads",
    "pages/new_lead.py": "New lead",
    "pages/settings.py": "Settings",
    "pages/users.py": "Users",
    "pages/audit.py": "Audit log",
}
OPENS = {
    "admin": set(PAGES),
    "manager": set(PAGES) - {"pages/settings.py", "pages/users.py", "pages/audit.py"},
    "marketing": {f"pages/{p}.py" for p in ("overview", "funnel", "goals", "marketing", "ad_spend", "leads")},
    "front_desk": {"pages/leads.py", "pages/new_lead.py"},
}


def open_url(at: AppTest, page: str) -> AppTest:
    """What a browser does for the URL /<page name>: ask for the page by its hash (the page need not be
    in the navigation the last run declared, as AppTest.switch_page requires)."""
    at._page_hash = calc_hash(page.removeprefix("pages/").removesuffix(".py"))
    return at.run()


def store() -> Store:
    return Store(load_settings().data_dir)


def add_user(name: str, role: str) -> None:
    s = store()
    s.add_user(name, role, auth.hash_password(PASSWORD))
    s.close()


def sign_in(name: str, password: str = PASSWORD, at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(str(APP), default_timeout=60).run()
    at.text_input(key="auth_name").input(name)
    at.text_input(key="auth_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def shows_no_data(at: AppTest) -> bool:
    return not (at.dataframe or at.metric or at.get("plotly_chart") or at.get("download_button") or at.table)


@pytest.fixture
def crm(serve_leads, monkeypatch):
    monkeypatch.setenv("LEADS_AUTH", "on")
    return serve_leads(ITEMS)


def test_every_page_url_shows_the_sign_in_form_and_nothing_else(crm):
    add_user("noa", "admin")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    for page in PAGES:
        open_url(at, page)
        assert not at.exception, (page, at.exception)
        assert [t.value for t in at.title] == ["Sign in"], page
        assert shows_no_data(at), page
        assert not at.sidebar.children or not any(at.sidebar.get(k) for k in ("multiselect", "date_input"))


def test_a_wrong_password_is_refused_and_five_failures_lock_the_account(crm):
    add_user("noa", "admin")
    at = sign_in("noa", "not the password")
    assert at.error[0].value == "Wrong user name or password."
    assert [t.value for t in at.title] == ["Sign in"] and shows_no_data(at)
    for _ in range(4):
        sign_in("noa", "not the password", at)
    # the fifth failure locks for 15 minutes (the first failure leaves the window 15 minutes after it)
    assert at.error[0].value == "Too many failed sign-ins. Try again in 15 minutes."
    sign_in("noa", PASSWORD, at)  # the right password, too late
    assert at.error[0].value.startswith("Too many failed sign-ins. Try again in")
    actions = store().audit_frame()["action"].tolist()[::-1]
    assert actions == ["sign-in failed"] * 5 + ["sign-in refused: locked"]


@pytest.mark.parametrize("role", ["admin", "manager", "marketing", "front_desk"])
def test_each_role_opens_its_pages_and_is_refused_the_others(crm, role):
    add_user("someone", role)
    at = open_url(sign_in("someone"), "pages/leads.py")  # a page every role may open
    assert at.sidebar.text[-1].value == f"someone · {auth.ROLE_LABELS[role]}"
    for page, title in PAGES.items():
        open_url(at, page)
        assert not at.exception, (page, at.exception)
        if page in OPENS[role]:
            assert at.title[0].value == title, page
        else:
            assert [t.value for t in at.title] == ["Not allowed"], page
            assert at.error[0].value.startswith(f"Not allowed: your role ({auth.ROLE_LABELS[role]})"), page
            assert shows_no_data(at), page


def test_marketing_sees_names_phones_and_e_mails_masked_in_the_table_details_and_csv(crm):
    add_user("mia", "marketing")
    at = open_url(sign_in("mia"), "pages/leads.py")
    table = at.dataframe[0].value
    # newest first: lead 1 (1 day ago), 2, 3; phones shown the local way, then masked (3 first, 2 last)
    assert table["name"].tolist() == ["י*** כ***", "D*** L***", "D*** L***"]
    assert table["phone"].tolist() == ["054-***-**67", "050-***-**21", "052-***-**11"]
    assert table["email"].tolist()[0] == "y***@gmail.com"
    # the CSV is exactly the masked table: its bytes (named by their hash in AppTest's media store) hold
    # no name, phone or e-mail in clear
    day = [f"{jerusalem_today() - timedelta(days=d):%Y-%m-%d}" for d in (1, 2, 3)]
    expected = (
        "\ufeffcreated_at,name,phone,email,status,owner,company,utm_source,utm_medium,utm_campaign,"
        "updated_at,lead_id\n"
        f"{day[0]} 10:00,י*** כ***,054-***-**67,y***@gmail.com,💫 חדש,,,,,,{day[0]} 10:00,{ID(1)}\n"
        f"{day[1]} 11:00,D*** L***,050-***-**21,,🎉 הומר ללקוח,,,,,,{day[1]} 11:00,{ID(2)}\n"
        f"{day[2]} 12:00,D*** L***,052-***-**11,,☎️ אין מענה,,,,,,{day[2]} 12:00,{ID(3)}\n"
    ).encode()
    (button,) = at.get("download_button")
    assert button.proto.url == f"/mock/media/{_calculate_file_id(expected, 'text/csv', 'leads.csv')}.csv"
    # details of a selected row are masked too
    at.session_state[next(k for k in at.session_state if str(k).startswith("table_leads_"))] = {
        "selection": {"rows": [0], "columns": []}
    }
    at.run()
    details = dict(zip(at.dataframe[1].value["field"], at.dataframe[1].value["value"], strict=True))
    assert details["Name"] == "י*** כ***" and details["E-mail"] == "y***@gmail.com"
    assert details["Phone"].startswith("054-***-**67")
    assert "4567" not in " ".join(details.values())


def test_marketing_cannot_find_a_lead_by_the_phone_or_name_it_may_not_see(crm):
    add_user("mia", "marketing")
    at = open_url(sign_in("mia"), "pages/leads.py")
    at.text_input(key="q").input("054-123-4567").run()
    assert not at.dataframe and at.info[0].value == "No lead matches the search."
    at.text_input(key="q").input("Levinson").run()
    assert not at.dataframe


def test_own_leads_only_shows_a_manager_only_their_leads(serve_leads, monkeypatch):
    monkeypatch.setenv("LEADS_AUTH", "on")
    monkeypatch.setenv("LEADS_OWN_LEADS_ONLY", "true")
    owned = [{**item, "owner": owner} for item, owner in zip(ITEMS, ["Avi", "Dana", "Avi"], strict=True)]
    serve_leads(owned)
    add_user("avi", "manager")
    add_user("mia", "marketing")
    at = open_url(sign_in("avi"), "pages/leads.py")
    assert at.dataframe[0].value["lead_id"].tolist() == [ID(1), ID(3)]  # Avi owns leads 1 and 3
    at = open_url(sign_in("mia"), "pages/leads.py")
    assert len(at.dataframe[0].value) == 3  # marketing is not limited


def test_a_lead_created_by_the_front_desk_is_audited(crm):
    add_user("fd", "front_desk")
    at = open_url(sign_in("fd"), "pages/new_lead.py")
    gen = at.session_state["nl_gen"]
    at.text_input(key=f"nl{gen}_name").input("ישראלה בדיקה")
    at.text_input(key=f"nl{gen}_phone").input("053-123-4567")
    next(b for b in at.button if b.label == "Create lead").click().run()
    assert not at.exception, at.exception
    who, action, page, detail = store().audit_frame().iloc[0][["who", "action", "page", "detail"]]
    assert (who, action, page) == ("fd", "lead created", "New lead")
    assert '"state": "created"' in detail


def test_a_manager_sees_contact_details_in_clear(crm):
    add_user("avi", "manager")
    at = open_url(sign_in("avi"), "pages/leads.py")
    table = at.dataframe[0].value
    assert table["name"].tolist()[0] == "יוסי כהן"
    assert table["phone"].tolist()[0] == "054-123-4567"


def test_the_front_desk_finds_a_lead_only_by_exact_phone_email_or_name_and_cannot_export(crm):
    add_user("fd", "front_desk")
    at = open_url(sign_in("fd"), "pages/leads.py")
    assert not at.dataframe  # no browsing, and no sidebar filters to browse with
    assert not at.sidebar.get("multiselect") and not at.sidebar.get("selectbox")
    at.text_input(key="fd_lookup").input("Dana").run()
    assert not at.dataframe and at.info[0].value.startswith("No lead has exactly this")
    at.text_input(key="fd_lookup").input("dana levi").run()
    assert at.dataframe[0].value["name"].tolist() == ["Dana Levi"]  # not Dana Levinson
    at.text_input(key="fd_lookup").input("054 123 4567").run()
    assert at.dataframe[0].value["name"].tolist() == ["יוסי כהן"]
    assert not at.get("download_button")


def test_sign_out_shows_the_form_and_is_audited(crm):
    add_user("noa", "admin")
    at = open_url(sign_in("noa"), "pages/overview.py")
    at.sidebar.button(key="auth_sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"] and shows_no_data(at)
    assert at.info[0].value == "You have signed out."
    open_url(at, "pages/overview.py")
    assert [t.value for t in at.title] == ["Sign in"]
    log = store().audit_frame()
    assert log["action"].tolist()[:2] == ["sign-out", "sign-in"]
    assert log["who"].tolist()[:2] == ["noa", "noa"]


def test_a_session_idle_longer_than_the_setting_ends(crm, monkeypatch):
    monkeypatch.setenv("LEADS_SESSION_IDLE_HOURS", "2")
    add_user("noa", "admin")
    at = open_url(sign_in("noa"), "pages/funnel.py")
    assert at.title[0].value == "Funnel"
    at.session_state["auth_user"] = {**at.session_state["auth_user"], "seen": time.time() - 2 * 3600 - 60}
    open_url(at, "pages/funnel.py")
    assert [t.value for t in at.title] == ["Sign in"] and shows_no_data(at)
    assert at.info[0].value == "Your session ended after 2 hours without activity. Sign in again."


def test_a_disabled_account_is_signed_out_on_its_next_run(crm):
    add_user("noa", "admin")
    add_user("dana", "manager")
    at = open_url(sign_in("dana"), "pages/funnel.py")
    s = store()
    s.update_user("dana", disabled=True)
    open_url(at, "pages/funnel.py")
    assert [t.value for t in at.title] == ["Sign in"]
    assert at.info[0].value == "Your account is disabled. Ask an admin."


def test_an_admin_adds_a_user_on_the_users_page_and_it_is_audited(crm):
    add_user("noa", "admin")
    at = open_url(sign_in("noa"), "pages/users.py")
    at.text_input(key="users_add_name").input("Mia")
    at.selectbox(key="users_add_role").set_value("marketing")
    at.text_input(key="users_add_password").input("short")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert at.error[0].value == "The password must be at least 12 characters long."
    at.text_input(key="users_add_name").input("Mia")
    at.selectbox(key="users_add_role").set_value("marketing")
    at.text_input(key="users_add_password").input("a long marketing passphrase")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "Added Mia (Marketing)."
    assert store().user("mia")["role"] == "marketing"
    row = store().audit_frame().iloc[0]
    assert (row["who"], row["action"], row["page"]) == ("noa", "user added", "Users")
    # and Mia signs in as marketing
    mia = open_url(sign_in("Mia", "a long marketing passphrase"), "pages/leads.py")
    assert mia.sidebar.text[-1].value == "Mia · Marketing"


def test_settings_changes_are_audited_and_shown_on_the_audit_page(crm):
    add_user("noa", "admin")
    at = open_url(sign_in("noa"), "pages/settings.py")
    next(b for b in at.button if b.label == "Save aliases").click().run()
    assert not at.exception, at.exception
    open_url(at, "pages/audit.py")
    log = at.dataframe[0].value
    # newest first: the alias save, then the sign-in
    assert log["action"].tolist() == ["settings changed", "sign-in"]
    assert log["who"].tolist() == ["noa", "noa"]
    assert log["detail"].tolist()[0] == '{"setting": "UTM aliases"}'
    at.multiselect(key="audit_action").set_value(["sign-in"]).run()
    assert at.dataframe[0].value["action"].tolist() == ["sign-in"]


def test_the_demo_on_this_machine_opens_without_sign_in(monkeypatch):
    monkeypatch.setenv("LEADS_AUTH", "auto")
    monkeypatch.setenv("LEADS_DEMO_SIZE", "50")
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "localhost")
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Overview" and at.metric
        st_config.set_option("server.address", "0.0.0.0")  # the same demo served to the network
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert [t.value for t in at.title] == ["Sign in"] and shows_no_data(at)
    finally:
        st_config.set_option("server.address", before)


def test_a_real_crm_asks_for_sign_in_with_auth_auto(serve_leads, monkeypatch):
    monkeypatch.setenv("LEADS_AUTH", "auto")
    serve_leads(ITEMS)
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "localhost")
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert [t.value for t in at.title] == ["Sign in"] and shows_no_data(at)
    finally:
        st_config.set_option("server.address", before)


def test_sign_in_off_for_a_real_crm_served_to_the_network_is_refused_on_the_page(serve_leads, monkeypatch):
    monkeypatch.setenv("LEADS_AUTH", "off")
    serve_leads(ITEMS)
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception, at.exception
        assert at.error[0].value == "**The dashboard is not configured correctly.**"
        assert at.text[0].value.startswith("LEADS_AUTH=off is refused")
        assert shows_no_data(at) and not at.title
    finally:
        st_config.set_option("server.address", before)


def test_outbox_retry_and_discard_are_audited(crm):
    add_user("fd", "front_desk")
    s = store()
    retried = s.outbox_add({"name": "ישראלה בדיקה", "phone": "+972531234567"}, "timeout", "failed")
    dropped = s.outbox_add({"name": "Other Lead", "phone": "+972537654321"}, "timeout", "failed")
    at = open_url(sign_in("fd"), "pages/new_lead.py")
    next(b for b in at.button if b.key == f"nl_discard_{dropped}").click().run()
    next(b for b in at.button if b.key == f"nl_discard_yes_{dropped}").click().run()  # Discard asks first
    assert not at.exception, at.exception
    next(b for b in at.button if b.key == f"nl_retry_{retried}_1").click().run()
    assert not at.exception, at.exception
    log = store().audit_frame()
    rows = list(zip(log["who"], log["action"], log["page"], log["detail"], strict=True))[:2]
    # newest first: the retry (the CRM took the lead: "created"), then the discard
    assert rows == [
        ("fd", "outbox retry", "New lead", f'{{"outbox_id": {retried}, "outcome": "created"}}'),
        ("fd", "outbox discard", "New lead", f'{{"outbox_id": {dropped}}}'),
    ]


def test_an_admin_changes_a_role_and_disables_a_user_on_the_users_page(crm):
    add_user("noa", "admin")
    add_user("dana", "manager")
    at = open_url(sign_in("noa"), "pages/users.py")
    at.selectbox(key="users_role_name").set_value("dana")
    at.selectbox(key="users_role_role").set_value("front_desk")
    next(b for b in at.button if b.label == "Change role").click().run()
    assert at.success[0].value == "dana is now Front desk."
    at.selectbox(key="users_state_name").set_value("noa")
    next(b for b in at.button if b.label == "Disable").click().run()
    assert at.error[0].value == "noa is the only active admin: add another admin first."
    at.selectbox(key="users_state_name").set_value("dana")
    next(b for b in at.button if b.label == "Disable").click().run()
    assert at.success[0].value == "dana is disabled."
    assert store().user("dana")["disabled"] and store().user("dana")["role"] == "front_desk"
    actions = store().audit_frame()["action"].tolist()[:2]
    assert actions == ["user disabled", "user role changed"]
