"""The common part of the fake CRMs: a real HTTP server on 127.0.0.1, Bearer auth, a request log, faults.

A fake subclasses `FakeCRM` and implements `route(method, path, query, headers, body) -> Response`, where
`path` has the base path removed and `query` is `parse_qs` of the query string. Everything else is here:

    with KommoFake(leads=...) as crm:                    # any subclass
        crm.base_url, crm.token
        crm.inject("/api/v4/leads", 429, headers={"Retry-After": "1"}, times=2)
        crm.inject("page=2", 0, delay=1.5)               # answered normally, 1.5 s late
        crm.inject("page=3", 200, truncate=True)         # a 200 whose JSON is cut in half
        crm.inject("/users", 403, body={"title": "Forbidden", ...}, content_type="application/problem+json")
        crm.requests                                     # [Request(method, target, time, headers), ...]

Faults match by substring of the request target (path and query), oldest first; each answers `times`
requests and is then used up. Every request is logged, faulty or not. `python -m tests.fakes.<name>
--port 8701` runs a fake in the foreground (see `serve_main`) so the app can be pointed at it by hand.
"""

from __future__ import annotations

import argparse
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lib.demo.server import _Handler, _Server

Response = tuple[int, dict[str, str], bytes]
JSON = "application/json; charset=utf-8"


def json_body(payload: Any, status: int = 200, content_type: str = JSON, **headers: str) -> Response:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return status, {"Content-Type": content_type, **headers}, data


@dataclass
class Request:
    method: str
    target: str  # path and query as received
    time: float  # time.monotonic()
    headers: dict[str, str] = field(repr=False, default_factory=dict)
    body: bytes = field(repr=False, default=b"")

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


@dataclass
class Fault:
    path_contains: str
    status: int
    headers: dict[str, str]
    body: bytes | None
    times: int
    delay: float
    truncate: bool


class Faults:
    """Injected faults, thread-safe: matched by substring of the request target, oldest first; each answers
    `times` requests and is then used up (shared by every fake, v2_faults.FaultyDemoCRM included)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains in target and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None


class FakeCRM:
    """A fake CRM on 127.0.0.1 (ephemeral port unless given). Subclasses implement `route`."""

    name = "fake"
    base_path = ""  # e.g. "/api" for aiployees: base_url = http://127.0.0.1:PORT/api

    def __init__(self, *, token: str = "fake-token", port: int = 0) -> None:
        self.token = token
        self.requests: list[Request] = []
        self.faults = Faults()
        self._lock = threading.Lock()
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.base_url if self._httpd else 'stopped'})"

    # -- lifecycle ------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What a user would put in LEADS_BASE_URL for this fake."""
        return self.origin + self.base_path

    def start(self) -> FakeCRM:
        if self._httpd is None:
            self._httpd = _Server(("127.0.0.1", self._port), _Handler)
            self._httpd.crm = self  # type: ignore[assignment]
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults and the log -----------------------------------------------------------------------------
    def inject(
        self,
        path_contains: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | str | dict | list | None = None,
        content_type: str = JSON,
        times: int = 1,
        delay: float = 0.0,
        truncate: bool = False,
    ) -> None:
        """Answer the next `times` requests whose target contains `path_contains` with this fault.

        status 0 = answer normally (after `delay`); truncate = the normal answer with its body cut in half
        (status 200 unless given); otherwise `status` with `body` (a dict/list is sent as JSON)."""
        if isinstance(body, dict | list):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        fault = Fault(path_contains, status, {"Content-Type": content_type, **(headers or {})}, body, times,
                      delay, truncate)  # fmt: skip
        self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    def requests_to(self, path_contains: str, method: str = "GET") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and path_contains in r.target]

    # -- the protocol -----------------------------------------------------------------------------------
    def authorized(self, headers: Any) -> bool:
        scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())

    def unauthorized(self) -> Response:
        """The answer to a missing or wrong token (override for the CRM's own shape)."""
        return json_body({"message": "Unauthenticated."}, 401)

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> Response:
        raise NotImplementedError

    def not_found(self, path: str) -> Response:
        return json_body({"message": f"No such endpoint: {path}"}, 404)

    def before(self, request: Request) -> Response | None:
        """A hook run on every logged request before faults and routing (e.g. a rate limit)."""
        return None

    def respond(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        if not self.authorized(headers):
            return self.unauthorized()
        parts = urlsplit(target)
        path = parts.path
        if self.base_path:
            if not (path == self.base_path or path.startswith(self.base_path + "/")):
                return self.not_found(path)
            path = path[len(self.base_path) :]
        path = path.rstrip("/") or "/"
        return self.route(method, path, parse_qs(parts.query, keep_blank_values=True), headers, body)

    def handle_request(self, handler: _Handler) -> None:
        body = handler.read_body() or b""
        request = Request(handler.command, handler.path, time.monotonic(), dict(handler.headers), body)
        with self._lock:
            self.requests.append(request)
        answer = self.before(request)
        if answer is not None:
            handler.send(*answer)
            return
        fault = self.faults.take(handler.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is None or fault.status == 0 or fault.truncate:
            try:
                status, headers, payload = self.respond(handler.command, handler.path, handler.headers, body)
            except Exception as exc:  # a bug in the fake: still an answer, never a dropped socket
                status, headers, payload = json_body({"message": f"{type(exc).__name__}: {exc}"}, 500)
            if fault is not None and fault.truncate:
                status, payload = fault.status or 200, payload[: max(1, len(payload) // 2)]
            handler.send(status, headers, payload)
            return
        payload = fault.body
        if payload is None:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Injected fault"
            payload = b"" if fault.status in (204, 304) else json.dumps({"message": phrase}).encode()
        handler.send(fault.status, fault.headers, payload)


def serve_main(make, description: str, argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.<name> [--port N] [--size N] [--token T]`: serve a fake until Ctrl-C.

    `make(size=..., token=..., port=...)` builds the fake."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--size", type=int, default=3000, help="how many leads the fake holds")
    parser.add_argument("--token", default="fake-token")
    args = parser.parse_args(argv)
    crm = make(size=args.size, token=args.token, port=args.port).start()
    print(f"{crm.name} fake at LEADS_BASE_URL={crm.base_url} LEADS_TOKEN={args.token}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        crm.stop()
