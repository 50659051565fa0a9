"""A lead is created once however often its button is clicked while the CRM is slow, and an entry whose send
was cut short by the app being killed is found in the outbox as "unknown" after a restart.

The CRM (the demo CRM's fault-injecting twin) runs in the test process, so the test counts the creates it
received without going through the app; the app is the real `streamlit run` process in Chromium.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from lib.store import Store
from tests.e2e.conftest import start_app, stop_app
from tests.e2e.test_new_lead_browser import fill, open_form
from tests.fakes.v2_faults import FaultyDemoCRM

pytestmark = pytest.mark.e2e

CREATE = "/v2/leads/create"


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    with FaultyDemoCRM(tmp_path_factory.mktemp("crm"), size=20, page_size=25) as server:
        yield server


def crm_env(crm) -> dict[str, str]:
    return {"LEADS_SOURCE": "v2", "LEADS_BASE_URL": crm.base_url, "LEADS_TOKEN": crm.token}


stop = stop_app


@pytest.fixture(scope="module")
def crm_app(crm, tmp_path_factory):
    proc, url = start_app(tmp_path_factory.mktemp("app-data"), crm_env(crm))
    yield url
    stop(proc)


def creates(crm) -> int:
    return sum(1 for method, path, _ in crm.requests if method == "POST" and path.startswith(CREATE))


def phones(crm) -> list[str]:
    return [lead["phone"] for lead in crm.db.leads_page(0, 1000)]


def test_two_clicks_half_a_second_apart_on_a_slow_crm_create_one_lead(page, crm, crm_app):
    open_form(page, crm_app)
    fill(page, "לחיצה כפולה", "054-777-0001")
    before_posts, before_count = creates(crm), crm.db.count()
    crm.inject(CREATE, 0, delay=1.0, times=5)  # every create answered 1 s late
    button = page.get_by_role("button", name="Create lead")
    button.click()
    page.wait_for_timeout(500)
    button.click(timeout=5_000)
    expect(page.get_by_text(re.compile(r"Lead created — id \d+"))).to_be_visible(timeout=30_000)
    page.wait_for_timeout(3_000)  # let a second run, if any, finish its send
    crm.clear_faults()
    assert creates(crm) == before_posts + 1  # one POST reached the CRM
    assert crm.db.count() == before_count + 1
    assert phones(crm).count("+972547770001") == 1


def test_two_retry_clicks_half_a_second_apart_send_once(page, crm, crm_app):
    open_form(page, crm_app)
    fill(page, "Retry Twice", "054-777-0002")
    crm.inject(CREATE, 500)  # the first send fails: the lead waits in the outbox
    page.get_by_role("button", name="Create lead").click()
    expect(page.get_by_text("The lead was not created.", exact=False)).to_be_visible(timeout=30_000)
    before_posts, before_count = creates(crm), crm.db.count()

    crm.inject(CREATE, 0, delay=1.0, times=5)
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_have_count(1)
    retry.click()
    page.wait_for_timeout(500)
    retry.click(timeout=5_000)
    expect(page.get_by_text(re.compile(r"Lead created: id \d+"))).to_be_visible(timeout=30_000)
    page.wait_for_timeout(3_000)
    crm.clear_faults()
    assert creates(crm) == before_posts + 1
    assert crm.db.count() == before_count + 1
    assert phones(crm).count("+972547770002") == 1


def test_a_send_cut_short_by_killing_the_app_is_in_the_outbox_as_unknown_after_a_restart(page, crm, tmp_path):
    data = tmp_path / "app-data"
    proc, url = start_app(data, crm_env(crm))
    try:
        open_form(page, url)
        fill(page, "נהרג באמצע", "054-777-0003")
        before_posts = creates(crm)
        # the CRM takes 4 s and then refuses the lead: the app, killed meanwhile, never hears it
        crm.inject(CREATE, 400, delay=4.0, body='{"message": "refused late"}')
        page.get_by_role("button", name="Create lead").click()
        deadline = time.monotonic() + 20
        while creates(crm) == before_posts and time.monotonic() < deadline:
            time.sleep(0.05)
        assert creates(crm) == before_posts + 1  # the request is on its way
        proc.kill()  # SIGKILL mid-send: no finally, no clean-up in the app
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    time.sleep(4.5)  # the CRM has answered (to nobody) by now

    proc, url = start_app(data, crm_env(crm))
    try:
        open_form(page, url)
        expect(page.get_by_text("unknown", exact=False).first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("נהרג באמצע", exact=False).first).to_be_visible()
    finally:
        stop(proc)
    [item] = Store(data).outbox_list()  # and in the store file itself
    assert item.state == "unknown"
    assert (item.lead["name"], item.lead["phone"]) == ("נהרג באמצע", "+972547770003")
