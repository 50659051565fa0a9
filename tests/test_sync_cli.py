"""`python -m lib.sync` for cron and systemd: run as a separate process against a demo v2 CRM on loopback,
storing on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib import clock
from lib.config import load_settings
from lib.db import open_database
from lib.demo.server import DemoCRM
from lib.lead_store import LeadStore, lease_name
from lib.store import crm_key
from lib.sync import RESULT_KEYS
from tests.conftest import lead_item

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def crm(tmp_path):
    server = DemoCRM(tmp_path / "crm", size=0, page_size=2).start()
    server.db.import_items([lead_item(n, "new", n, "09:00:00") for n in range(1, 4)])
    yield server
    server.stop()


def run_sync(crm, store_url: str, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,  # LEADS_NOW, LEADS_DATA_DIR and no secrets file, from tests/conftest.py
        "LEADS_SOURCE": "v2",
        "LEADS_BASE_URL": crm.base_url,
        "LEADS_TOKEN": token or crm.token,
        "LEADS_STORE_URL": store_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "lib.sync", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_summary_and_modes(crm, store_url):
    first = run_sync(crm, store_url, "--json")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert list(summary) == list(RESULT_KEYS)
    assert list(summary) == [
        "mode",
        "requests",
        "fetched",
        "changed",
        "deleted",
        "status_changes",
        "total",
        "seconds",
    ]
    assert {k: summary[k] for k in ("mode", "fetched", "changed", "deleted", "status_changes", "total")} == {
        "mode": "full", "fetched": 3, "changed": 3, "deleted": 0, "status_changes": 0, "total": 3,
    }  # fmt: skip
    assert summary["seconds"] >= 0

    second = json.loads(run_sync(crm, store_url, "--json").stdout)
    assert (second["mode"], second["changed"], second["total"]) == ("incremental", 0, 3)
    forced = json.loads(run_sync(crm, store_url, "--full", "--json").stdout)
    assert (forced["mode"], forced["fetched"]) == ("full", 3)

    plain = run_sync(crm, store_url)
    assert plain.returncode == 0 and plain.stdout.startswith("incremental sync of ")


def test_failure_is_one_clear_line_without_the_token(crm, store_url):
    result = run_sync(crm, store_url, "--json", token="wrong-secret-token-42")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sync failed: ")
    assert "Traceback" not in result.stderr and "wrong-secret-token-42" not in result.stderr
    state = LeadStore(open_database(store_url)).state(crm.base_url)
    assert state.last_error == lines[0].removeprefix("sync failed: ")

    bad_every = run_sync(crm, store_url, "--every", "soon")
    assert bad_every.returncode == 1 and bad_every.stderr.startswith("sync failed: ")


def test_another_process_syncing_is_not_a_failure(crm, store_url):
    store = LeadStore(open_database(store_url))
    assert store.acquire_lease(lease_name(crm.base_url), "the-app-process", 600)
    result = run_sync(crm, store_url, "--json")
    assert result.returncode == 0
    assert "another process is syncing" in result.stderr and result.stdout == ""
    assert store.runs(crm.base_url).empty


def test_a_sync_service_running_every_hour_answers_sync_now_at_once(crm, store_url):
    """`--every 1h` with the app's "Sync now" (a request in the store): the service syncs within seconds."""
    env = {
        **os.environ,
        "LEADS_SOURCE": "v2",
        "LEADS_BASE_URL": crm.base_url,
        "LEADS_TOKEN": crm.token,
        "LEADS_STORE_URL": store_url,
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "lib.sync", "--every", "1h", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = json.loads(service.stdout.readline())
        assert (first["mode"], first["total"]) == ("full", 3)
        crm.db.import_items([lead_item(4, "new", 0, "08:00:00")])
        store = LeadStore(open_database(store_url))
        # the key the service syncs under (the CRM's base URL), asked at the dashboard's (pinned) now
        store.request_sync(crm_key(load_settings(env, {})), clock.now())
        second = json.loads(service.stdout.readline())  # an hour early: asked
        assert (second["mode"], second["fetched"] >= 1, second["total"]) == ("incremental", True, 4)
    finally:
        service.terminate()
        service.wait(10)
