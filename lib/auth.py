"""Sign-in and roles, without Streamlit: who may open which page, password hashing (argon2id through
argon2-cffi) and policy, sign-in throttling, masking of contact details, and when sign-in is required.

Roles (USER_ROLES): admin (everything), manager (every dashboard, leads with contact details, exports, new
leads), marketing (Overview, Funnel, Goals, Marketing, Ad spend and the Leads table with names, phones and
e-mails masked), front_desk (New lead, and Leads by exact phone / e-mail / full name only).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lib.config import Settings, is_loopback
from lib.errors import ConfigError

ADMIN, MANAGER, MARKETING, FRONT_DESK = "admin", "manager", "marketing", "front_desk"
USER_ROLES = (ADMIN, MANAGER, MARKETING, FRONT_DESK)
ROLE_LABELS = {ADMIN: "Admin", MANAGER: "Manager", MARKETING: "Marketing", FRONT_DESK: "Front desk"}
AUTH_MODES = ("auto", "on", "off")

_DASHBOARD = {ADMIN, MANAGER, MARKETING}
# page file -> the roles that may open it; a page missing here is open to admins only
PAGE_ROLES: dict[str, frozenset[str]] = {
    "pages/overview.py": frozenset(_DASHBOARD),
    "pages/funnel.py": frozenset(_DASHBOARD),
    "pages/statuses.py": frozenset({ADMIN, MANAGER}),
    "pages/history.py": frozenset({ADMIN, MANAGER}),
    "pages/goals.py": frozenset(_DASHBOARD),
    "pages/marketing.py": frozenset(_DASHBOARD),
    "pages/ad_spend.py": frozenset(_DASHBOARD),
    "pages/leads.py": frozenset(USER_ROLES),
    "pages/new_lead.py": frozenset({ADMIN, MANAGER, FRONT_DESK}),
    "pages/settings.py": frozenset({ADMIN}),
    "pages/users.py": frozenset({ADMIN}),
    "pages/audit.py": frozenset({ADMIN}),
}

MIN_PASSWORD_LENGTH = 12
# Refused whatever their length (compared case-insensitively, and with trailing digits and ! removed).
_COMMON = """
    password passw0rd password1 p@ssword p@ssw0rd qwerty qwertyuiop qwertyuiop1 qwerty123 asdfghjkl
    asdfghjkl1 zxcvbnm 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qaz2wsx3edc 123456789012 123456789 1234567890
    12345678 111111111111 000000000000 abc123 abcdefghijkl abcd1234 iloveyou letmein letmeinnow
    welcome welcome1 welcometoisrael admin administrator adminadmin changeme changemenow trustno1
    football baseball monkey dragon sunshine princess superman batman master shalom shalomshalom
    israel israel123 leads leadsdashboard dashboard secret secretpassword
    """
COMMON_PASSWORDS = frozenset(_COMMON.split())

LOCK_WINDOW_SECONDS = 15 * 60
MAX_FAILURES = 5  # failures per account, and per client address, within LOCK_WINDOW_SECONDS

_hasher = PasswordHasher()
# verified against when the account does not exist, so that an unknown name takes as long as a wrong password
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class PasswordPolicyError(ValueError):
    """A password the policy refuses; the message says why (never the password)."""


def normalize_role(role: str) -> str:
    """A role as stored ("front desk", "Front-desk" -> "front_desk"); ValueError for an unknown one."""
    value = re.sub(r"[\s-]+", "_", str(role).strip().lower())
    if value not in USER_ROLES:
        raise ValueError(f"role must be one of {', '.join(USER_ROLES)} (got {role!r})")
    return value


def may_open(role: str | None, page: str) -> bool:
    """Whether `role` may open the page file `page` (e.g. "pages/funnel.py"). None: no sign-in in force,
    which opens every page."""
    if role is None:
        return True
    return role in PAGE_ROLES.get(page, frozenset({ADMIN}))


def check_password(password: str, name: str | None = None) -> None:
    """Raise PasswordPolicyError unless `password` is at least MIN_PASSWORD_LENGTH characters, not a
    common password and not the user's own name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    folded = password.casefold()
    stripped = folded.rstrip("0123456789!")
    if folded in COMMON_PASSWORDS or stripped in COMMON_PASSWORDS or len(set(folded)) <= 2:
        raise PasswordPolicyError("This password is too common: choose one that is hard to guess.")
    if name and name.casefold() in folded:
        raise PasswordPolicyError("The password must not contain the user name.")


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (with its own salt and parameters)."""
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (None: no such account; still takes a hash's time)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- throttling -------------------------------------------------------------------------------------------


def lockout_seconds(account_failures: list[float], client_failures: list[float], now: float) -> float:
    """Seconds until another sign-in may be tried (0: now). `*_failures`: the times (epoch seconds) of the
    failed sign-ins of this account and of this client address. MAX_FAILURES of either within
    LOCK_WINDOW_SECONDS locks until the oldest of those MAX_FAILURES leaves the window."""
    wait = 0.0
    for times in (account_failures, client_failures):
        recent = sorted(t for t in times if now - LOCK_WINDOW_SECONDS < t <= now)
        if len(recent) >= MAX_FAILURES:
            wait = max(wait, recent[-MAX_FAILURES] + LOCK_WINDOW_SECONDS - now)
    return wait


def lockout_message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed sign-ins. Try again in {minutes} minute{'' if minutes == 1 else 's'}."


# -- when sign-in is required -----------------------------------------------------------------------------


def serves_beyond_loopback(server_address: str | None) -> bool:
    """Whether Streamlit's `server.address` lets other machines connect (unset means every interface)."""
    return not is_loopback((server_address or "").strip() or None)


def auth_required(settings: Settings, server_address: str | None) -> bool:
    """Whether sign-in is required. LEADS_AUTH=auto: off only for the embedded demo served on this machine
    only; on for every real CRM and whenever the server listens beyond loopback. `on`/`off` say so; `off`
    is refused (ConfigError) for a real CRM served beyond loopback."""
    mode = getattr(settings, "auth", "auto")
    beyond = serves_beyond_loopback(server_address)
    if mode == "on":
        return True
    if mode == "off":
        if beyond and not settings.is_demo:
            raise ConfigError(
                [
                    "LEADS_AUTH=off is refused: this dashboard shows a real CRM's leads and listens beyond "
                    "this machine (server.address). Remove LEADS_AUTH (or set it to on) and add users "
                    "with `python -m lib.users add NAME --role admin --password-stdin`, or serve on "
                    "localhost only."
                ]
            )
        return False
    return beyond or not settings.is_demo


# -- masking ----------------------------------------------------------------------------------------------

MASK = "***"
NAME_COLUMNS = ("name", "first_name", "last_name")
CONTACT_COLUMNS = (*NAME_COLUMNS, "phone", "email")


def _missing(value) -> bool:
    return value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value))


def mask_name(value):
    """Each word to its first letter and ***: "יוסי כהן" -> "י*** כ***". Missing stays missing."""
    if _missing(value):
        return value
    return " ".join(word[0] + MASK for word in str(value).split())


def mask_phone(value):
    """Every digit but the first three and the last two to *: "054-123-4567" -> "054-***-**67"."""
    if _missing(value):
        return value
    text = str(value)
    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    hidden = set(positions[3:-2]) if len(positions) > 5 else set(positions[1:])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_email(value):
    """The local part to its first letter and ***: "dana@gmail.com" -> "d***@gmail.com"."""
    if _missing(value):
        return value
    text = str(value)
    local, at, domain = text.rpartition("@")
    if not at:
        return mask_name(text)
    return f"{local[:1]}{MASK}@{domain}"


_MASKERS = {"name": mask_name, "first_name": mask_name, "last_name": mask_name}
_MASKERS.update(phone=mask_phone, email=mask_email)


def mask_leads(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with names, phones and e-mails masked (the columns it has; the others as they are)."""
    cols = [c for c in CONTACT_COLUMNS if c in frame.columns]
    if not cols:
        return frame
    return frame.assign(**{c: frame[c].map(_MASKERS[c], na_action="ignore").astype("string") for c in cols})


def mask_field(field: str, value):
    """One value of a lead's `field`, masked when it is a name, phone or e-mail."""
    masker = _MASKERS.get(field)
    return masker(value) if masker else value


@dataclass(frozen=True)
class User:
    """A signed-in user."""

    name: str
    role: str

    @property
    def masked(self) -> bool:
        """Whether contact details are masked for this user."""
        return self.role == MARKETING


def attempt_sign_in(
    store, name: str, password: str, client: str, wall: float, now: datetime
) -> tuple[User | None, str]:
    """Check a sign-in against the store: (the user, "") on success; (None, what to tell the user) when
    refused. A locked account or client is refused before the password is looked at; a failure is counted
    (by account and by client address) and audited; a success forgets the account's failures. `wall`:
    epoch seconds of the machine's real clock (the lockout lease); `now`: the dashboard's clock (audit)."""
    name = (name or "").strip()
    account_times, client_times = store.sign_in_failures(name, client, wall - LOCK_WINDOW_SECONDS)
    wait = lockout_seconds(account_times, client_times, wall)
    if wait > 0:
        store.audit(name or "(blank)", "sign-in refused: locked", detail={"client": client}, now=now)
        return None, lockout_message(wait)
    account = store.user(name) if name else None
    good = verify(account["password_hash"] if account else None, password or "")
    if not good or account is None or account["disabled"]:
        store.add_sign_in_failure(name, client, wall)
        reason = "disabled" if good and account and account["disabled"] else "wrong name or password"
        store.audit(name or "(blank)", "sign-in failed", detail={"client": client, "reason": reason}, now=now)
        account_times, client_times = store.sign_in_failures(name, client, wall - LOCK_WINDOW_SECONDS)
        if (wait := lockout_seconds(account_times, client_times, wall)) > 0:
            return None, lockout_message(wait)
        if reason == "disabled":
            return None, "This account is disabled. Ask an admin."
        return None, "Wrong user name or password."
    store.clear_sign_in_failures(name)
    store.audit(account["name"], "sign-in", detail={"client": client}, now=now)
    return User(account["name"], account["role"]), ""


def exact_matches(leads: pd.DataFrame, query: str, region: str = "IL") -> pd.DataFrame:
    """The front desk's lookup: leads whose phone (any way of writing the same number), e-mail (any case)
    or full name (any case, spaces collapsed) equals `query` exactly; nothing for a blank query or one
    shorter than 3 characters (no browsing by a letter or two)."""
    from lib.contacts import normalize_phone, normalize_phones

    text = " ".join(str(query or "").split())
    if len(text) < 3:
        return leads.iloc[0:0]
    mask = pd.Series(False, index=leads.index)
    folded = text.casefold()
    if "email" in leads:
        mask |= leads["email"].astype("string").str.strip().str.casefold().eq(folded).fillna(False)
    if "name" in leads:
        names = leads["name"].astype("string").str.split().str.join(" ").str.casefold()
        mask |= names.eq(folded).fillna(False)
    digits = sum(ch.isdigit() for ch in text)
    if "phone" in leads and digits >= 7:
        wanted = normalize_phone(text, region)
        phones = normalize_phones(leads["phone"].astype("string"), region)
        mask |= phones.astype("string").eq(wanted).fillna(False)
    return leads[mask.astype(bool)]


OWN_LEADS_ROLES = (MANAGER, FRONT_DESK)


def own_leads(leads: pd.DataFrame, user: User | None, own_leads_only: bool) -> pd.DataFrame:
    """With LEADS_OWN_LEADS_ONLY, a manager or the front desk sees only the leads whose owner is their
    user name (any case); all leads when the setting is off, for other roles, or where the CRM has no
    owners at all (no lead has one)."""
    if not own_leads_only or user is None or user.role not in OWN_LEADS_ROLES or "owner" not in leads:
        return leads
    owners = leads["owner"].astype("string").str.strip().str.casefold()
    if not owners.notna().any():
        return leads
    return leads[owners.eq(user.name.strip().casefold()).fillna(False).to_numpy(dtype=bool)]


# -- single sign-on (st.login) ----------------------------------------------------------------------------

SSO = "sso"  # the sign-in method of a single sign-on session (in the session and the audit log)


def sso_role(store, email: str, default_role: str = "") -> tuple[str | None, str]:
    """The role of `email` signed in through single sign-on: (role, "") when an admin mapped it (any case)
    and did not disable it, or when it is unmapped and `default_role` (LEADS_SSO_DEFAULT_ROLE) gives one;
    else (None, the reason: "no e-mail", "not mapped" or "disabled")."""
    email = (email or "").strip().lower()
    if not email:
        return None, "no e-mail"
    mapping = store.sso_user(email)
    if mapping is None:
        return (default_role, "") if default_role else (None, "not mapped")
    if mapping["disabled"]:
        return None, "disabled"
    return mapping["role"], ""


def attempt_sso_sign_in(
    store, email: str, default_role: str, client: str, now: datetime
) -> tuple[User | None, str]:
    """What the gate does once the OIDC provider has signed `email` in (st.user): (the user, named by the
    lower-cased e-mail, with its role) on success; (None, what to tell the user) when refused. Both are
    audited (method "sso"; a refusal under the e-mail with the reason)."""
    email = (email or "").strip().lower()
    role, reason = sso_role(store, email, default_role)
    if role is None:
        detail = {"client": client, "method": SSO, "reason": reason}
        store.audit(email or "(no e-mail)", "sign-in failed", detail=detail, now=now)
        if reason == "no e-mail":
            return None, "The single sign-on provider did not give an e-mail address: ask an admin."
        if reason == "disabled":
            return None, f"Your e-mail {email} is disabled for this dashboard: ask an admin."
        return None, f"Your e-mail {email} has no access to this dashboard: ask an admin to add it."
    detail = {"client": client, "method": SSO}
    if store.sso_user(email) is None:
        detail["default_role"] = role
    store.audit(email, "sign-in", detail=detail, now=now)
    return User(email, role), ""


def sso_identity_stale(issued_at, wall: float, idle_hours: float) -> bool:
    """Whether the provider's identity (its ID token's `iat`, epoch seconds; None when it gave none) is
    older than the idle limit: Streamlit keeps the identity in a 30-day cookie, and a new browser session
    must not be signed in from one that old without going through the provider again. `wall`: epoch
    seconds of the machine's real clock."""
    try:
        issued = float(issued_at)
    except (TypeError, ValueError):
        return False
    return wall - issued > idle_hours * 3600
