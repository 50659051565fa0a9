"""Where the server may send a request: a base URL typed in Settings must not lead the dashboard to this
machine, the local network, link-local or cloud metadata addresses (unless LEADS_ALLOW_PRIVATE_CRM=true, for
an on-premises CRM).

What is covered:
- `check_public_url` resolves the host name (every address it resolves to, IPv4 and IPv6) and refuses the
  URL if any of them is not public, so a name pointing at 127.0.0.1 is refused as well as the literal.
- `PublicOnlyBackend` repeats the check at connect time, on the very address the socket is opened to, and
  connects to that checked address: a DNS answer that changes between the check and the connection (DNS
  rebinding) cannot reach a private address through a client built with `HttpClient(public_only=True)`.
What is not: a settings' base URL saved earlier and read at start-up is the operator's configuration and is
used as it is (so the embedded demo and on-premises CRMs keep working); a public CRM that itself forwards
requests inward is beyond what the dashboard can see.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

# Metadata services of cloud providers (AWS, GCP, Azure, OpenStack use the first; AWS IPv6 the second).
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})

Resolver = Callable[[str, int], Iterable[str]]

# A connection test from Settings: short waits and one retry, so a silent address does not hold the page
TRIAL_HTTP_OPTIONS = {"timeout": httpx.Timeout(15.0, connect=5.0), "max_attempts": 2}


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, reserved, multicast, unspecified and metadata addresses,
    IPv4-mapped and 6to4/Teredo forms of them included."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return is_public_address(str(ip.ipv4_mapped))
        inner = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and not is_public_address(str(inner)):
            return False
    return not (
        ip in METADATA
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def check_public_url(url: str, resolver: Resolver = resolve) -> str | None:
    """The problem with sending requests to `url` from this server, or None when every address its host
    resolves to is public."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"The base URL {url!r} is not a valid address"
    if not host:
        return f"The base URL {url!r} has no host name"
    try:
        addresses = [str(ipaddress.ip_address(host))]  # an IP literal is what it is
    except ValueError:
        addresses = []
    try:
        addresses = addresses or list(resolver(host, port))
    except (OSError, UnicodeError):
        return f"The host name {host!r} could not be resolved: check the base URL"
    if not addresses:
        return f"The host name {host!r} could not be resolved: check the base URL"
    if not all(is_public_address(a) for a in addresses):
        return (
            f"The base URL points at {host!r}, which is an address on this machine or a private, link-local "
            "or metadata address: the dashboard only connects to public CRMs. For a CRM on your own network "
            "set LEADS_ALLOW_PRIVATE_CRM=true on the server."
        )
    return None


class BlockedAddressError(OSError):
    """The connection would have gone to a non-public address."""


class PublicOnlyBackend(httpcore.SyncBackend):
    """httpcore's network backend that resolves the host itself and connects only to a public address."""

    def __init__(self, resolver: Resolver = resolve) -> None:
        self.resolver = resolver

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        name = host.decode() if isinstance(host, bytes) else host
        try:
            addresses = list(self.resolver(name, port))
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"could not resolve {name!r}") from exc
        if not addresses or not all(is_public_address(a) for a in addresses):
            raise httpcore.ConnectError("the address is not public")
        # connect to the address just checked (TLS still verifies the certificate against the host name,
        # which httpcore passes separately to start_tls)
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


def public_only_transport(**kwargs) -> object:
    """An httpx transport whose connections may only go to public addresses (see PublicOnlyBackend)."""
    transport = httpx.HTTPTransport(**kwargs)
    transport._pool._network_backend = PublicOnlyBackend()  # httpx has no public option for the backend
    return transport


def plain_connection_error(exc: Exception) -> str:
    """What a failed connection test tells the user: the kind of failure and the HTTP status, never the
    body the target answered, and one message for every way a connection can fail (so the answer does not
    tell closed, open and silent ports apart)."""
    from lib.errors import (
        ConfigError,
        CRMAuthError,
        CRMConnectionError,
        CRMRateLimitError,
        CRMResponseError,
        CRMServerError,
        NotSupportedError,
    )

    status = getattr(exc, "status_code", None)
    if isinstance(exc, ConfigError):
        return "; ".join(exc.problems)
    if isinstance(exc, CRMConnectionError):
        return (
            "Could not connect to this address: check the base URL, and that the CRM can be reached from "
            "this server"
        )
    if isinstance(exc, CRMAuthError) and status is None:  # raised here, before sending (a token's problem)
        return str(exc)
    if isinstance(exc, CRMAuthError) and status == 401:
        return "The CRM refused the token (401 Unauthorized): check the token"
    if isinstance(exc, CRMAuthError):
        return "The CRM denied access (403 Forbidden): the token lacks a permission, or the account is off"
    if isinstance(exc, CRMRateLimitError):
        return "The CRM is limiting requests (429 Too Many Requests): wait a minute and test again"
    if isinstance(exc, CRMServerError):
        return f"The CRM answered with a server error (HTTP {status}): try again later"
    if isinstance(exc, NotSupportedError):
        return "This CRM does not offer what the dashboard needs with this token"
    if isinstance(exc, CRMResponseError) or status is None:
        return "The address answered, but not as this CRM's API does: check the base URL and the system"
    return f"The CRM rejected the request (HTTP {status}): check the base URL and the system"
