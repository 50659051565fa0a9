"""The shared HTTP layer's error mapping and retry rules (httpx.MockTransport: no network, no patching)."""

import httpx
import pytest

from lib.crm.http import HttpClient, RateLimiter, parse_retry_after
from lib.errors import (
    CRMAuthError,
    CRMConnectionError,
    CRMRateLimitError,
    CRMRequestError,
    CRMResponseError,
    CRMServerError,
    OutcomeUnknownError,
)

TOKEN = "tok-SECRET-12345"


def client(handler, **kw) -> tuple[HttpClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request, len(seen))

    kw.setdefault("backoff", 0.001)
    kw.setdefault("backoff_cap", 0.01)
    return HttpClient("https://crm.example/ords/m", TOKEN, transport=httpx.MockTransport(record), **kw), seen


def test_paths_are_appended_to_the_base_path_and_links_rebased_on_the_configured_origin():
    http, _ = client(lambda r, n: httpx.Response(200, json={}))
    assert http.url("/v2/leads") == "https://crm.example/ords/m/v2/leads"
    assert http.url("v2/leads") == "https://crm.example/ords/m/v2/leads"
    # a next link written with an internal host keeps its path and query but goes to the configured host
    assert (
        http.url("http://internal:8080/ords/m/v2/leads?page=2")
        == "https://crm.example/ords/m/v2/leads?page=2"
    )


def test_the_bearer_token_is_sent_and_never_in_the_repr():
    http, seen = client(lambda r, n: httpx.Response(200, json={"ok": True}))
    assert http.get_json("/x") == {"ok": True}
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(http)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_name_the_problem_without_the_token(status):
    http, seen = client(lambda r, n: httpx.Response(status, json={"message": "bad token"}))
    with pytest.raises(CRMAuthError) as info:
        http.get_json("/v2/leads")
    assert str(status) in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert len(seen) == 1  # not retried


def test_401_message_points_at_the_token_setting():
    http, _ = client(lambda r, n: httpx.Response(401))
    with pytest.raises(CRMAuthError, match="check LEADS_TOKEN"):
        http.get_json("/v2/leads")


def test_get_retries_503_then_succeeds():
    http, seen = client(lambda r, n: httpx.Response(503) if n < 3 else httpx.Response(200, json=[1]))
    assert http.get_json("/x") == [1]
    assert len(seen) == 3


def test_get_gives_up_after_the_attempt_cap_with_a_clear_error():
    http, seen = client(lambda r, n: httpx.Response(502), max_attempts=4)
    with pytest.raises(CRMServerError, match="unavailable") as info:
        http.get_json("/x")
    assert len(seen) == 4
    assert info.value.status_code == 502


def test_429_retry_after_header_is_waited_for(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", waits.append)
    http, seen = client(
        lambda r, n: (
            httpx.Response(429, headers={"Retry-After": "7"}) if n == 1 else httpx.Response(200, json={})
        )
    )
    http.get_json("/x")
    assert waits == [7.0]
    assert len(seen) == 2


def test_a_retry_after_longer_than_two_minutes_fails_at_once():
    http, seen = client(lambda r, n: httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(CRMRateLimitError):
        http.get_json("/x")
    assert len(seen) == 1


def test_kommo_style_retry_after_in_the_body():
    r = httpx.Response(
        429,
        json={"title": "Too many", "retry_after": 2},
        headers={"Content-Type": "application/problem+json"},
    )
    assert parse_retry_after(r) == 2.0
    assert parse_retry_after(httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    assert (
        parse_retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
        == 0.0
    )
    assert parse_retry_after(httpx.Response(429)) is None


def test_400_is_not_retried_and_carries_the_crm_message_and_fields():
    http, seen = client(
        lambda r, n: httpx.Response(
            400, json={"message": "Missing required field(s): phone", "fields": ["phone"]}
        )
    )
    with pytest.raises(CRMRequestError, match="Missing required field") as info:
        http.post_json("/create", {})
    assert info.value.fields == ["phone"]
    assert len(seen) == 1


def test_a_post_is_never_resent_after_a_server_error():
    http, seen = client(lambda r, n: httpx.Response(503))
    with pytest.raises(CRMServerError):
        http.post_json("/create", {"name": "x"})
    assert len(seen) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_on_post_means_the_outcome_is_unknown(status):
    http, seen = client(lambda r, n: httpx.Response(status))
    with pytest.raises(OutcomeUnknownError):
        http.post_json("/create", {"name": "x"})
    assert len(seen) == 1


def test_a_post_timeout_after_sending_is_outcome_unknown_and_not_resent():
    def timeout(request, n):
        raise httpx.ReadTimeout("timed out", request=request)

    http, seen = client(timeout)
    with pytest.raises(OutcomeUnknownError, match="may or may not"):
        http.post_json("/create", {"name": "x"})
    assert len(seen) == 1


def test_a_post_whose_connection_never_opened_is_retried():
    def refuse_once(request, n):
        if n == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"id": "1"})

    http, seen = client(refuse_once)
    assert http.post_json("/create", {"name": "x"}) == {"id": "1"}
    assert len(seen) == 2


def test_connection_errors_on_get_are_retried_then_reported():
    def refuse(request, n):
        raise httpx.ConnectError("refused", request=request)

    http, seen = client(refuse, max_attempts=3)
    with pytest.raises(CRMConnectionError, match="Could not connect") as info:
        http.get_json("/x")
    assert len(seen) == 3
    assert TOKEN not in str(info.value)


def test_truncated_json_is_a_clear_response_error():
    http, _ = client(lambda r, n: httpx.Response(200, content=b'{"items": [{"id": "1"'))
    with pytest.raises(CRMResponseError, match="not valid JSON"):
        http.get_json("/x")


def test_rate_limiter_spaces_requests(monkeypatch):
    clock = {"now": 100.0}
    monkeypatch.setattr("lib.crm.http.time.monotonic", lambda: clock["now"])
    slept: list[float] = []
    monkeypatch.setattr("lib.crm.http.time.sleep", slept.append)
    limiter = RateLimiter(rate=4)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.25, 0.5]
