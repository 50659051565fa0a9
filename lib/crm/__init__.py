"""Connect to a CRM: `connect("v2", base_url=..., token=...)` or `connect("demo")`.

Every source offers `statuses()`, `leads(since=None, progress=None)`, `create_lead(lead)` and `check()`,
returning the canonical frames of lib.schema.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from lib.config import IMPLEMENTED_SOURCES, SOURCES, Settings, check_base_url
from lib.crm.http import HttpClient
from lib.crm.v2 import CreatedLead, V2Source
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
    "V2Source",
    "connect",
    "connect_settings",
]


def connect(
    source: str = "demo",
    *,
    base_url: str | None = None,
    token: str | None = None,
    data_dir: str | Path | None = None,
    demo_size: int = 5000,
    phone_region: str = "IL",
    transport: httpx.BaseTransport | None = None,
    **http_options,
) -> V2Source:
    """A connected source. "demo" starts (once per process) the embedded demo CRM on loopback and talks to
    it through the same v2 client as a real CRM."""
    if source == "demo":
        from lib.demo.server import ensure_running

        base_url, token = ensure_running(Path(data_dir or Settings().data_dir), demo_size)
        http = HttpClient(base_url, token, crm_name="The demo CRM", transport=transport, **http_options)
        return V2Source(http, phone_region=phone_region, is_demo=True)
    if source not in SOURCES:
        raise ConfigError([f"Unknown CRM {source!r}: use one of {', '.join(SOURCES)}"])
    if source not in IMPLEMENTED_SOURCES:
        raise ConfigError([f"The {source} connector is not available in this version yet"])
    problems = []
    if not base_url:
        problems.append("LEADS_BASE_URL is required")
    elif problem := check_base_url(base_url):
        problems.append(problem)
    if not token:
        problems.append("LEADS_TOKEN is required")
    if problems:
        raise ConfigError(problems)
    http = HttpClient(base_url, token, crm_name="The CRM", transport=transport, **http_options)
    return V2Source(http, phone_region=phone_region)


def connect_settings(settings: Settings, **http_options) -> V2Source:
    """`connect()` with everything taken from the app's settings."""
    return connect(
        settings.source,
        base_url=settings.base_url,
        token=settings.token,
        data_dir=settings.data_dir,
        demo_size=settings.demo_size,
        phone_region=settings.phone_region,
        **http_options,
    )
