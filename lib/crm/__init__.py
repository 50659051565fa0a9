"""Connect to a CRM: `connect("v2", base_url=..., token=...)` or `connect("demo")`.

Every source offers `statuses()`, `leads(since=None, progress=None)`, `create_lead(lead)` and `check()`,
returning the canonical frames of lib.schema.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx

from lib.config import SOURCES, Settings, check_base_url
from lib.crm.base import CreatedLead, Progress, Source
from lib.crm.http import HttpClient
from lib.crm.v2 import V2Source
from lib.errors import (
    ConfigError,
    CRMAuthError,
    CRMConnectionError,
    CRMError,
    CRMRateLimitError,
    CRMRequestError,
    CRMResponseError,
    CRMServerError,
    LeadsError,
    NotSupportedError,
    OutcomeUnknownError,
)

__all__ = [
    "CRMAuthError",
    "CRMConnectionError",
    "CRMError",
    "CRMRateLimitError",
    "CRMRequestError",
    "CRMResponseError",
    "CRMServerError",
    "ConfigError",
    "CreatedLead",
    "LeadsError",
    "NotSupportedError",
    "OutcomeUnknownError",
    "Progress",
    "Source",
    "V2Source",
    "connect",
    "connect_settings",
]


CRM_NAMES = {"v2": "The CRM", "kommo": "Kommo", "aiployees": "aiployees", "livetex": "LiveTex"}


def connect(
    source: str = "demo",
    *,
    base_url: str | None = None,
    token: str | None = None,
    data_dir: str | Path | None = None,
    demo_size: int = 5000,
    phone_region: str = "IL",
    crm_timezone: str | None = None,
    transport: httpx.BaseTransport | None = None,
    demo_alive: bool | None = None,
    **http_options,
) -> Source:
    """A connected source. "demo" starts (once per process) the embedded demo CRM on loopback and talks to
    it through the same v2 client as a real CRM; "kommo", "aiployees" and "livetex" are in their modules.
    `crm_timezone` is the zone of times the CRM sends without an offset (None: the connector's default)."""
    if source == "demo":
        from lib.demo.server import ensure_running

        base_url, token = ensure_running(Path(data_dir or Settings().data_dir), demo_size, alive=demo_alive)
        http = HttpClient(base_url, token, crm_name="The demo CRM", transport=transport, **http_options)
        return V2Source(http, phone_region=phone_region, is_demo=True)
    if source not in SOURCES:
        raise ConfigError([f"Unknown CRM {source!r}: use one of {', '.join(SOURCES)}"])
    problems = []
    if not base_url:
        problems.append("LEADS_BASE_URL is required")
    elif problem := check_base_url(base_url):
        problems.append(problem)
    if not token:
        problems.append("LEADS_TOKEN is required")
    if problems:
        raise ConfigError(problems)
    assert base_url and token
    if source == "v2":
        http = HttpClient(base_url, token, crm_name=CRM_NAMES[source], transport=transport, **http_options)
        return V2Source(http, phone_region=phone_region, crm_timezone=crm_timezone)
    module = importlib.import_module(f"lib.crm.{source}")
    return module.open_source(
        base_url,
        token,
        phone_region=phone_region,
        crm_timezone=crm_timezone,
        transport=transport,
        **http_options,
    )


def connect_settings(settings: Settings, **http_options) -> Source:
    """`connect()` with everything taken from the app's settings."""
    return connect(
        settings.source,
        base_url=settings.base_url,
        token=settings.token,
        data_dir=settings.data_dir,
        demo_size=settings.demo_size,
        phone_region=settings.phone_region,
        crm_timezone=settings.crm_timezone,
        demo_alive=settings.demo_alive,
        **http_options,
    )
