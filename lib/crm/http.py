"""The one HTTP layer every connector shares: auth, timeouts, retries, rate limits, error mapping.

GETs are retried on connection errors, timeouts, 429, 502, 503 and 504 with capped exponential backoff
and jitter, honouring Retry-After (the header, or a `retry_after` field in a JSON body as Kommo sends).
A POST is retried only when the connection could not even be opened: once a create request may have
reached the CRM it is never sent again automatically (creating a lead is not idempotent).
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
import tenacity

from lib.errors import (
    CRMAuthError,
    CRMConnectionError,
    CRMError,
    CRMRateLimitError,
    CRMRequestError,
    CRMResponseError,
    CRMServerError,
    OutcomeUnknownError,
)
from lib.netguard import public_only_transport

RETRY_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_RETRY_AFTER = 120.0  # a CRM asking us to wait longer than this gets a clear error instead of a hang


class _Transient(Exception):
    """A failure worth another try; carries the error to raise when the tries run out."""

    def __init__(self, final: CRMError, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


class Limiter(Protocol):
    """Paces requests: `wait()` before sending returns a ticket, `done(ticket)` once the answer is in."""

    def wait(self) -> Any: ...

    def done(self, ticket: Any) -> None: ...


class RateLimiter:
    """At most `rate` requests per second, shared by every thread that holds this object."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the next request may go (the lock orders concurrent callers)."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def done(self, ticket: object = None) -> None:
        """Nothing to do when an answer comes back (the interface of kommo.SlidingWindowLimiter)."""


def parse_retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date) or a JSON `retry_after` field."""
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                return None
    if "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            return None
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            return max(0.0, float(body["retry_after"]))
    return None


def _server_message(response: httpx.Response) -> str:
    """The human part of an error body (`message`, `detail`, `title`...), shortened."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text and "<" not in text[:50] else ""
    if isinstance(body, dict):
        for key in ("message", "detail", "title", "error", "error_description"):
            if isinstance(body.get(key), str) and body[key].strip():
                return (body[key].strip()[:300] + _first_validation_error(body)).strip()
    return ""


def _first_validation_error(body: dict) -> str:
    """The first entry of a problem+json `validation-errors` list (Kommo's 400), as " (path: detail)":
    "Request validation failed" alone does not tell the user which field to correct."""
    groups = body.get("validation-errors")
    if not isinstance(groups, list):
        return ""
    for group in groups:
        errors = group.get("errors") if isinstance(group, dict) else None
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, dict) and (error.get("detail") or error.get("path")):
                path, detail = str(error.get("path") or "").strip(), str(error.get("detail") or "").strip()
                text = f"{path}: {detail}" if path and detail else path or detail
                return f" ({text[:200]})"
    return ""


def _sendable(token: str) -> bool:
    """A token can go in an HTTP header: printable ASCII only."""
    return all(" " <= ch <= "~" for ch in token)


class HttpClient:
    """JSON over HTTP to one CRM at `base_url` (which may carry a path prefix) with a Bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        crm_name: str = "The CRM",
        token_setting: str = "LEADS_TOKEN",
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        backoff: float = 0.5,
        backoff_cap: float = 20.0,
        rate_limiter: Limiter | None = None,
        transport: httpx.BaseTransport | None = None,
        public_only: bool = False,
    ) -> None:
        """`public_only`: connect only to public addresses, checked on the address each connection is opened
        to (lib.netguard; used for a base URL typed in Settings)."""
        self.base_url = base_url.rstrip("/")
        self.crm_name = crm_name
        self.token_setting = token_setting
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.rate_limiter = rate_limiter
        self.requests = 0  # HTTP requests sent (every attempt, retries included), see _send
        self._count_lock = threading.Lock()
        if not _sendable(token or ""):
            # httpx would raise UnicodeEncodeError with "Bearer <token>" in its args: never let it
            raise CRMAuthError(
                f"The token in {token_setting} contains characters that cannot be sent (non-ASCII or control "
                "characters): paste it again"
            )
        if public_only and transport is None:
            transport = public_only_transport()
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HttpClient({self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        """`path` appended to the base URL (never replacing its path); absolute URLs are re-based on it.

        Re-basing a `next` link onto the configured origin means the token only ever goes to the host the
        user configured, even when a CRM behind a proxy writes links with its internal host name.
        """
        if "://" not in path:
            return self.base_url + "/" + path.lstrip("/")
        base, link = urlsplit(self.base_url), urlsplit(path)
        return urlunsplit((base.scheme, base.netloc, link.path, link.query, ""))

    # -- requests -------------------------------------------------------------------------------------

    def get(self, path: str, params: dict | None = None) -> httpx.Response:
        """GET with retries; returns a 2xx response (204 included) or raises a CRMError."""
        return self._with_retries(lambda: self._once("GET", path, params=params, idempotent=True))

    def get_json(self, path: str, params: dict | None = None) -> Any:
        response = self.get(path, params)
        return None if response.status_code == 204 else self.decode(response)

    def post_json(self, path: str, body: Any) -> Any:
        """POST once. Retried only if the connection could not be opened; a timeout after sending raises
        OutcomeUnknownError because the CRM may already have acted on it."""
        response = self._with_retries(lambda: self._once("POST", path, json=body, idempotent=False))
        return None if response.status_code == 204 else self.decode(response)

    def decode(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise CRMResponseError(
                f"{self.crm_name} sent a response that is not valid JSON from "
                f"{self._where(response.request)} "
                f"(HTTP {response.status_code}, {len(response.content)} bytes): it may have been cut off; "
                "try again"
            ) from None

    # -- internals ------------------------------------------------------------------------------------

    def _where(self, request: httpx.Request) -> str:
        return request.url.copy_with(query=None).path or "/"

    def _with_retries(self, call: Callable[[], httpx.Response]) -> httpx.Response:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            return retrying(call)
        except _Transient as exc:
            raise exc.final from None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return exc.retry_after
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.backoff, max=self.backoff_cap, jitter=self.backoff
        )
        return backoff(state)

    def _once(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        if self.rate_limiter is None:
            return self._send(method, path, idempotent=idempotent, **kwargs)
        ticket = self.rate_limiter.wait()
        try:
            return self._send(method, path, idempotent=idempotent, **kwargs)
        finally:
            self.rate_limiter.done(ticket)

    def _send(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        url = self.url(path)
        where = urlsplit(url).path or "/"
        with self._count_lock:  # a connector may send from several threads (aiployees' pages)
            self.requests += 1
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            raise _Transient(
                CRMConnectionError(
                    f"Could not connect to {self.crm_name} at {self._origin()}: {type(exc).__name__}. "
                    "Check LEADS_BASE_URL and the network."
                )
            ) from None
        except httpx.TimeoutException:
            if idempotent:
                raise _Transient(
                    CRMConnectionError(
                        f"{self.crm_name} did not answer {where} in time, even after retries: it may be "
                        "overloaded; try again later"
                    )
                ) from None
            raise OutcomeUnknownError(
                f"{self.crm_name} did not answer in time after the request was sent: the lead may or may not "
                "have been created"
            ) from None
        except httpx.TransportError as exc:
            final_error: CRMError
            if idempotent:
                final_error = CRMConnectionError(
                    f"The connection to {self.crm_name} broke while reading {where} ({type(exc).__name__})"
                )
                raise _Transient(final_error) from None
            raise OutcomeUnknownError(
                f"The connection to {self.crm_name} broke after the request was sent ({type(exc).__name__}): "
                "the lead may or may not have been created"
            ) from None
        if response.is_success:
            return response
        self._raise_for(response, where, idempotent)
        return response  # unreachable

    def _origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")

    def _raise_for(self, response: httpx.Response, where: str, idempotent: bool) -> None:
        status = response.status_code
        detail = _server_message(response)
        said = f' It said: "{detail}"' if detail else ""
        if status == 401:
            auth = CRMAuthError(
                f"{self.crm_name} refused the token (401 Unauthorized): check {self.token_setting}.{said}"
            )
            auth.status_code = status  # lets a connector tell a wrong token from a missing permission
            raise auth
        if status == 403:
            auth = CRMAuthError(
                f"{self.crm_name} denied access to {where} (403 Forbidden): the token lacks the permission, "
                f"or the account is blocked.{said}"
            )
            auth.status_code = status
            raise auth
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(response)
            if status == 429:
                final: CRMError = CRMRateLimitError(
                    f"{self.crm_name} kept answering 429 Too Many Requests for {where}: wait a minute and "
                    f"refresh.{said}"
                )
            else:
                final = CRMServerError(
                    f"{self.crm_name} is unavailable ({status} on {where}) after {self.max_attempts} tries: "
                    f"try again later.{said}"
                )
            final.status_code = status
            if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                raise final
            if idempotent:
                raise _Transient(final, retry_after)
            if status in (502, 504):  # a gateway gave up: the CRM behind it may have acted on the request
                raise OutcomeUnknownError(
                    f"{self.crm_name}'s gateway answered {status} on {where}: the lead may or may not have "
                    "been created"
                )
            raise final  # 429 and 503: refused before acting, nothing was created
        if status >= 500:
            error = CRMServerError(f"{self.crm_name} had an internal error ({status} on {where}).{said}")
            error.status_code = status
            raise error
        fields: list[str] = []
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("fields"), list):
                fields = [str(f) for f in body["fields"]]
        except ValueError:
            pass
        message = f"{self.crm_name} rejected the request to {where} ({status}).{said}"
        raise CRMRequestError(message, status_code=status, fields=fields)


def as_json_dict(value: Any, what: str) -> dict:
    """`value` if it is a JSON object, else a CRMResponseError naming `what` was expected."""
    if not isinstance(value, dict):
        raise CRMResponseError(f"Expected a JSON object for {what}, got {type(value).__name__}")
    return value


__all__ = ["HttpClient", "Limiter", "RateLimiter", "as_json_dict", "parse_retry_after"]
