"""Settings: environment variables override the `[crm]` table of .streamlit/secrets.toml, then defaults.

One typed, immutable object. Invalid values are collected and raised together as one ConfigError, so the
page can list every problem at once instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import tomli_w

from lib import clock
from lib.errors import ConfigError
from lib.spend import CURRENCIES

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SOURCES = ("demo", "v2", "kommo", "aiployees", "livetex")
SOURCE_LABELS = {
    "demo": "Demo CRM (embedded sample data)",
    "v2": "v2 CRM (the Israeli CRM)",
    "kommo": "Kommo (amoCRM)",
    "aiployees": "aiployees call platform",
    "livetex": "LiveTex",
}
BASE_URL_EXAMPLES = {
    "v2": "https://crm.example.co.il/ords/crm",
    "kommo": "https://yourcompany.kommo.com",
    "aiployees": "https://call.aiployees.com/api",
    "livetex": "https://api.livetex.ru",
}
# The zone a CRM's times without an offset are read in, unless LEADS_CRM_TIMEZONE says otherwise
# (Kommo sends Unix times, which need none).
DEFAULT_CRM_TIMEZONES = {"v2": "Asia/Jerusalem", "aiployees": "UTC", "livetex": "Europe/Moscow"}
# What to enter for each system and what the dashboard can do with it (shown on the Settings page).
SOURCE_HELP = {
    "demo": "Sample data from an embedded CRM on this machine: nothing to enter. Leads you create are kept "
    "in `LEADS_DATA_DIR`.",
    "v2": "**Base URL:** the CRM's API root, up to but not including `/v2/leads` (it may carry a path "
    "such as `/ords/crm`). **Token:** the API token from the CRM's settings. Reads statuses and leads; "
    "creates leads.",
    "kommo": "**Base URL:** your account's address, `https://<subdomain>.kommo.com` (or `.amocrm.ru`). "
    "**Token:** a long-lived token of a private integration (Settings → Integrations). Reads pipelines, "
    "stages, leads with their contacts and UTM fields, and user names when the token may; creates leads.",
    "aiployees": "**Base URL:** `https://call.aiployees.com/api`. **Token:** an API token of the platform "
    "(`1|…`). Reads call leads and their campaigns; leads cannot be created from the dashboard (they enter "
    "through a campaign). Times are read in the account's zone below.",
    "livetex": "**Base URL:** `https://api.livetex.ru`. **Token:** an API token of a LiveTex employee; an "
    "administrator sees every lead in full, other roles get others' leads without their text. Reads leads "
    "(forms, callbacks, chats); leads cannot be created from the dashboard.",
}
CONNECTION_KEYS = ("LEADS_SOURCE", "LEADS_BASE_URL", "LEADS_TOKEN", "LEADS_CRM_TIMEZONE")
MAX_DEMO_SIZE = 5_000_000

# setting name -> (environment variable / secrets key, default)
_DEFAULTS: dict[str, tuple[str, object]] = {
    "source": ("LEADS_SOURCE", "demo"),
    "base_url": ("LEADS_BASE_URL", None),
    "token": ("LEADS_TOKEN", None),
    "data_dir": ("LEADS_DATA_DIR", str(PROJECT_ROOT / ".data")),
    "timezone": ("LEADS_TIMEZONE", "Asia/Jerusalem"),
    "crm_timezone": ("LEADS_CRM_TIMEZONE", None),
    "phone_region": ("LEADS_PHONE_REGION", "IL"),
    "demo_size": ("LEADS_DEMO_SIZE", 5000),
    "demo_alive": ("LEADS_DEMO_ALIVE", True),
    "lead_url": ("LEADS_LEAD_URL", None),
    "currency": ("LEADS_CURRENCY", "ILS"),
    "allow_private_crm": ("LEADS_ALLOW_PRIVATE_CRM", False),
    # sign-in (lib.auth)
    "auth": ("LEADS_AUTH", "auto"),
    "session_idle_hours": ("LEADS_SESSION_IDLE_HOURS", 8),
    "own_leads_only": ("LEADS_OWN_LEADS_ONLY", False),
    "sso_default_role": ("LEADS_SSO_DEFAULT_ROLE", ""),
    "sso_label": ("LEADS_SSO_LABEL", "single sign-on"),
    # the lead store and its sync (lib.db, lib.sync)
    "store_url": ("LEADS_STORE_URL", None),
    "sync_interval": ("LEADS_SYNC_INTERVAL", "5m"),
    "full_sync_at": ("LEADS_FULL_SYNC_AT", "03:00"),
}
_TRUE = ("true", "1", "yes", "on")
SSO_ROLES = ("admin", "manager", "marketing", "front_desk")  # lib.auth.USER_ROLES (which imports this module)
_FALSE = ("false", "0", "no", "off", "")


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know to connect and to display. `token` is never shown in a repr."""

    source: str = "demo"
    base_url: str | None = None
    token: str | None = field(default=None, repr=False)
    data_dir: Path = PROJECT_ROOT / ".data"
    timezone: str = "Asia/Jerusalem"
    crm_timezone: str | None = None  # the zone of times a CRM sends without an offset (None: its default)
    phone_region: str = "IL"
    demo_size: int = 5000
    demo_alive: bool = True  # the demo CRM creates leads and moves statuses every minute (lib.demo.alive)
    lead_url: str | None = None  # a lead's page in the CRM, `{id}` standing for its id (None: per CRM)
    currency: str = "ILS"  # the account currency (ISO 4217) ad spend is kept in
    allow_private_crm: bool = False  # a base URL typed in Settings may point at a private address
    # sign-in: auto | on | off (lib.auth.auth_required); idle hours before a session ends; whether
    # managers and front desk see only the leads they own (where the CRM has owners)
    auth: str = "auto"
    session_idle_hours: float = 8.0
    own_leads_only: bool = False
    # single sign-on (st.login): the role of a signed-in e-mail no admin mapped ("" = refuse it), and the
    # provider's name on the sign-in button ("Sign in with {sso_label}")
    sso_default_role: str = ""
    sso_label: str = "single sign-on"
    # the store: None = SQLite in data_dir (lib.db.sqlite_url); a postgresql:// URL holds a password, so it
    # is never in the repr. The background sync runs every sync_interval seconds (0 = no background sync in
    # the app: an outside `python -m lib.sync --every ...` does it); a full sync, which also finds deleted
    # leads, runs at the first sync after full_sync_at (HH:MM in the display zone) each day.
    store_url_setting: str | None = field(default=None, repr=False)
    sync_interval: float = 300.0
    full_sync_at: str = "03:00"

    @property
    def is_demo(self) -> bool:
        return self.source == "demo"

    @property
    def store_url(self) -> str:
        """The store's URL: LEADS_STORE_URL, or the SQLite file dashboard.sqlite3 in LEADS_DATA_DIR."""
        from lib.db import sqlite_url

        return self.store_url_setting or sqlite_url(self.data_dir)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str | None:
    """The problem with a CRM base URL, or None when it is acceptable (https, or http on loopback)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- reading it checks the port (a number from 1 to 65535)
    except ValueError as exc:
        return (
            f"LEADS_BASE_URL is not a valid address ({exc}): use a full URL such as https://crm.example.com"
        )
    if parts.port == 0:
        return "LEADS_BASE_URL has port 0: use the CRM's port (from 1 to 65535) or none"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"LEADS_BASE_URL must be a full URL such as https://crm.example.com (got {url!r})"
    if parts.username or parts.password:
        return "LEADS_BASE_URL must not contain a user name or password: put the token in LEADS_TOKEN"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            "LEADS_BASE_URL uses plain http:// to a remote host, which would send the token unencrypted: "
            "use https://"
        )
    return None


def check_token(token: str) -> str | None:
    """The problem with a token (never quoting it), or None: it goes in an HTTP header, so printable ASCII."""
    if all(" " <= ch <= "~" for ch in token):
        return None
    return (
        "LEADS_TOKEN contains characters that cannot be sent (non-ASCII or control characters, often from "
        "copying it out of a document): paste it again"
    )


def _is_lead_url_template(template: str) -> bool:
    """An http(s) address with a host and `{id}` where the lead's id goes."""
    try:
        parts = urlsplit(template.replace("{id}", "1"))
        return "{id}" in template and parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def secrets_file() -> Path:
    """.streamlit/secrets.toml of the project, or the file LEADS_SECRETS_FILE names (tests use that)."""
    return Path(os.environ.get("LEADS_SECRETS_FILE") or PROJECT_ROOT / ".streamlit" / "secrets.toml")


def read_secrets(path: Path | None = None) -> dict:
    """The `[crm]` table of the secrets file (empty when the file is absent)."""
    path = path or secrets_file()
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path.name} could not be read: {exc}"]) from None
    table = data.get("crm", {})
    return table if isinstance(table, dict) else {}


def load_settings(env: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> Settings:
    """Settings from `env` (default os.environ) over `secrets` (default the secrets file's [crm] table)."""
    env = os.environ if env is None else env
    secrets = read_secrets() if secrets is None else secrets
    raw: dict[str, object] = {}
    for name, (key, default) in _DEFAULTS.items():
        value = env.get(key)
        if value is None or str(value).strip() == "":
            value = secrets.get(key, secrets.get(name, default))
        raw[name] = value.strip() if isinstance(value, str) else value

    problems: list[str] = []
    source = str(raw["source"] or "demo").lower()
    if source not in SOURCES:
        problems.append(f"LEADS_SOURCE must be one of {', '.join(SOURCES)} (got {source!r})")

    base_url = raw["base_url"] or None
    token = raw["token"] or None
    if source != "demo":
        if not base_url:
            problems.append(f"LEADS_BASE_URL is required for LEADS_SOURCE={source}")
        if not token:
            problems.append(f"LEADS_TOKEN is required for LEADS_SOURCE={source}")
    if token and (problem := check_token(str(token))):
        problems.append(problem)
    if base_url:
        base_url = str(base_url).rstrip("/")
        if problem := check_base_url(base_url):
            problems.append(problem)

    try:
        clock.frozen()
    except clock.ClockError as exc:
        problems.append(str(exc))

    timezone = str(raw["timezone"])
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"LEADS_TIMEZONE must be an IANA time zone such as Asia/Jerusalem (got {timezone!r})")

    crm_timezone = str(raw["crm_timezone"]) if raw["crm_timezone"] else None
    if crm_timezone:
        try:
            ZoneInfo(crm_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"LEADS_CRM_TIMEZONE must be an IANA time zone such as Europe/Moscow (got {crm_timezone!r})"
            )

    region = str(raw["phone_region"]).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(f"LEADS_PHONE_REGION must be a two-letter country code such as IL (got {region!r})")

    try:
        demo_size = int(str(raw["demo_size"]).replace("_", "").replace(",", ""))
        if not 0 <= demo_size <= MAX_DEMO_SIZE:
            raise ValueError
    except ValueError:
        problems.append(f"LEADS_DEMO_SIZE must be a whole number from 0 to {MAX_DEMO_SIZE:,}")
        demo_size = 0

    lead_url = str(raw["lead_url"]) if raw["lead_url"] else None
    if lead_url and not _is_lead_url_template(lead_url):
        problems.append(
            "LEADS_LEAD_URL must be an http(s) address with {id} where the lead's id goes, "
            f"such as https://crm.example/lead/{{id}} (got {lead_url!r})"
        )

    currency = str(raw["currency"] or "ILS").upper()
    if currency not in CURRENCIES:
        problems.append(
            f"LEADS_CURRENCY must be a three-letter currency code such as ILS or USD (got {currency!r})"
        )

    demo_alive_text = str(raw["demo_alive"]).strip().lower()
    if demo_alive_text not in _TRUE + _FALSE:
        problems.append(f"LEADS_DEMO_ALIVE must be true or false (got {demo_alive_text!r})")

    allow = str(raw["allow_private_crm"]).strip().lower()
    if allow not in _TRUE + _FALSE:
        problems.append(f"LEADS_ALLOW_PRIVATE_CRM must be true or false (got {allow!r})")
    auth, idle_hours, own_only = _sign_in_settings(raw, problems)
    sso_role = re.sub(r"[\s-]+", "_", str(raw["sso_default_role"] or "").strip().lower())
    if sso_role and sso_role not in SSO_ROLES:
        problems.append(
            f"LEADS_SSO_DEFAULT_ROLE must be empty (refuse unknown e-mails) or one of {', '.join(SSO_ROLES)} "
            f"(got {raw['sso_default_role']!r})"
        )
        sso_role = ""
    sso_label = " ".join(str(raw["sso_label"] or "").split()) or "single sign-on"
    store_url, sync_interval, full_sync_at = _store_settings(raw, problems)

    if problems:
        raise ConfigError(problems)
    return Settings(
        source=source,
        base_url=base_url,
        token=token,
        data_dir=Path(str(raw["data_dir"])).expanduser(),
        timezone=timezone,
        crm_timezone=crm_timezone,
        phone_region=region,
        demo_size=demo_size,
        demo_alive=demo_alive_text in _TRUE,
        lead_url=lead_url,
        currency=currency,
        allow_private_crm=allow in _TRUE,
        auth=auth,
        session_idle_hours=idle_hours,
        own_leads_only=own_only,
        sso_default_role=sso_role,
        sso_label=sso_label,
        store_url_setting=store_url,
        sync_interval=sync_interval,
        full_sync_at=full_sync_at,
    )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hours?)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "hours": 3600}


def parse_duration(text: object) -> float:
    """Seconds in "300", "45s", "5m", "5 min", "1h"; "off" or "0" is 0. ValueError otherwise."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    if str(text).strip().lower() in ("off", "never", "false", "no"):
        return 0.0
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "").lower()]


def _store_settings(raw: dict, problems: list[str]) -> tuple[str | None, float, str]:
    """LEADS_STORE_URL, LEADS_SYNC_INTERVAL and LEADS_FULL_SYNC_AT, checked (problems appended)."""
    from lib.db import check_url

    url = str(raw["store_url"]).strip() if raw["store_url"] else None
    if url and (problem := check_url(url)):
        problems.append(problem)
    elif url and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        interval = parse_duration(raw["sync_interval"])
        if interval and not 10 <= interval <= 24 * 3600:
            raise ValueError
    except ValueError:
        problems.append(
            "LEADS_SYNC_INTERVAL must be a duration from 10s to 24h such as 5m, or off "
            f"(got {raw['sync_interval']!r})"
        )
        interval = 300.0
    at = str(raw["full_sync_at"] or "03:00").strip()
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", at):
        problems.append(f"LEADS_FULL_SYNC_AT must be a time of day such as 03:00 (got {at!r})")
        at = "03:00"
    return url, interval, at.zfill(5)


def _sign_in_settings(raw: dict, problems: list[str]) -> tuple[str, float, bool]:
    """LEADS_AUTH, LEADS_SESSION_IDLE_HOURS and LEADS_OWN_LEADS_ONLY, checked (problems appended)."""
    auth = str(raw["auth"] or "auto").strip().lower()
    if auth not in ("auto", "on", "off"):
        problems.append(f"LEADS_AUTH must be auto, on or off (got {auth!r})")
        auth = "on"
    try:
        idle_hours = float(str(raw["session_idle_hours"]))
        if not 0 < idle_hours <= 24 * 30:
            raise ValueError
    except ValueError:
        problems.append("LEADS_SESSION_IDLE_HOURS must be a number of hours above 0, at most 720 (30 days)")
        idle_hours = 8.0
    own = raw["own_leads_only"]
    own_text = str(own).strip().lower()
    if isinstance(own, bool):
        own_only = own
    elif own_text in ("1", "true", "yes", "on"):
        own_only = True
    elif own_text in ("0", "false", "no", "off", ""):
        own_only = False
    else:
        problems.append(f"LEADS_OWN_LEADS_ONLY must be true or false (got {own!r})")
        own_only = False
    return auth, idle_hours, own_only


def save_connection(
    source: str,
    base_url: str | None,
    token: str | None,
    crm_timezone: str | None = None,
    path: Path | None = None,
) -> Settings:
    """Check a connection's settings and write them to the `[crm]` table of the secrets file (other keys
    and tables are kept; the demo drops the base URL and token). Returns the settings the file now gives;
    raises ConfigError, writing nothing, when they are not valid."""
    path = path or secrets_file()
    current = read_secrets(path)
    table = {k: v for k, v in current.items() if k not in CONNECTION_KEYS and k not in _CONNECTION_NAMES}
    new = {"LEADS_SOURCE": source}
    if source != "demo":
        new.update(LEADS_BASE_URL=(base_url or "").strip(), LEADS_TOKEN=(token or "").strip())
        if crm_timezone and crm_timezone.strip():
            new["LEADS_CRM_TIMEZONE"] = crm_timezone.strip()
    settings = load_settings(env={}, secrets={**table, **new})
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        document = {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path.name} could not be read: {exc}"]) from None
    document["crm"] = {**table, **new}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(document), encoding="utf-8")
    tmp.chmod(0o600)  # it holds the token
    tmp.replace(path)
    return settings


_CONNECTION_NAMES = ("source", "base_url", "token", "crm_timezone")


def overridden_by_environment(env: Mapping[str, str] | None = None) -> list[str]:
    """The connection settings set in the environment, which win over anything saved in the file."""
    env = os.environ if env is None else env
    return [k for k in CONNECTION_KEYS if str(env.get(k) or "").strip()]


def connection_to_try(
    source: str,
    base_url: str,
    typed_token: str,
    current: Settings,
    resolver: Callable[[str, int], Iterable[str]] | None = None,
) -> tuple[str | None, list[str]]:
    """The token to use for a connection typed in Settings, and what forbids trying or saving it.

    A saved token is sent only to the address it was saved for: with a new base URL (or another system)
    the token must be typed again. A new base URL must resolve to public addresses only (lib.netguard)
    unless LEADS_ALLOW_PRIVATE_CRM is true; the address already configured stays usable as it is.
    """
    from lib import netguard

    if source == "demo":
        return None, []
    url = base_url.strip().rstrip("/")
    same_address = source == current.source and url == (current.base_url or "")
    token = typed_token.strip() or None
    problems: list[str] = []
    if token is None and current.token and url:
        if same_address:
            token = current.token
        else:
            problems.append(
                "Type the token again for a new address: a saved token is only sent to the address it was "
                "saved for"
            )
    if token and (problem := check_token(token)):
        problems.append(problem)
    guarded = url and not same_address and not current.allow_private_crm
    if guarded and (problem := netguard.check_public_url(url, resolver or netguard.resolve)):
        problems.append(problem)
    return token, problems
