"""A demo v2 CRM that misbehaves on demand: latency, 429 with Retry-After, 5xx, truncated JSON.

    with FaultyDemoCRM(tmp_path, size=30, page_size=10) as crm:
        crm.inject("page=1", 503, times=2)          # the next two requests for page 1 fail
        crm.inject("/v2/leads", 429, headers={"Retry-After": "1"})
        crm.inject("statuses", 0, delay=2.0)         # answered normally, but two seconds late
        crm.inject("/v2/leads", 200, truncate=True)  # a 200 whose JSON body is cut off
        ...
        crm.requests  # [(method, path with query, time.monotonic()), ...] of every request received

`ignore_q=True` makes it a v2 CRM without the ORDS `q` filter: it answers every lead whatever `q` asks, and
its links do not carry `q` (a real server that does not know the parameter).

Faults are matched by substring of the request target (path and query, e.g. "page=1"), oldest first; each
answers `times` requests and is then used up. Every request is recorded, faulty or not.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus

from lib.demo.server import JSON_TYPE, DemoCRM
from tests.fakes.base import Fault, Faults


class FaultyDemoCRM(DemoCRM):
    """DemoCRM with injectable faults and a log of the requests it received."""

    def __init__(self, *args, ignore_q: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ignore_q = ignore_q
        self.requests: list[tuple[str, str, float]] = []
        self.faults = Faults()
        self._fault_lock = threading.Lock()  # guards the request log

    def inject(
        self,
        path_contains: str,
        status: int,
        *,
        headers: dict | None = None,
        body: bytes | str | None = None,
        times: int = 1,
        delay: float = 0.0,
        truncate: bool = False,
    ) -> None:
        """Answer the next `times` requests whose target contains `path_contains` with this fault.

        status 0 = answer normally (after `delay`); truncate = a normal-looking answer (status 200 unless
        given) whose JSON body is cut in half, with a Content-Length that matches what is sent.
        """
        if isinstance(body, str):
            body = body.encode("utf-8")
        fault = Fault(path_contains, status, dict(headers or {}), body, times, delay, truncate)
        self.faults.add(fault)

    def _get_leads(self, query: dict, body: bytes):
        if self.ignore_q:
            query = {k: v for k, v in query.items() if k != "q"}
        return super()._get_leads(query, body)

    def lead_requests(self) -> list[str]:
        """The targets (path and query) of the GET requests for lead pages, in order."""
        with self._fault_lock:
            return [t for m, t, _ in self.requests if m == "GET" and t.split("?")[0].endswith("/v2/leads")]

    def clear_faults(self) -> None:
        self.faults.clear()

    def handle_request(self, handler) -> None:
        with self._fault_lock:
            self.requests.append((handler.command, handler.path, time.monotonic()))
        fault = self.faults.take(handler.path)
        if fault is None:
            super().handle_request(handler)
            return
        if fault.delay:
            time.sleep(fault.delay)
        body = handler.read_body()
        if fault.truncate or fault.status == 0:
            status, headers, payload = self.respond(
                handler.command, handler.path, handler.headers, body or b""
            )
            if fault.truncate:
                status = fault.status or 200
                payload = payload[: max(1, len(payload) // 2)]
            handler.send(status, {**headers, **fault.headers}, payload)
            return
        headers = {"Content-Type": JSON_TYPE, **fault.headers}
        payload = fault.body
        if payload is None:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Injected fault"
            payload = b"" if fault.status in (204, 304) else _error_body(fault.status, phrase)
        handler.send(fault.status, headers, payload)


def _error_body(status: int, phrase: str) -> bytes:
    return json.dumps(
        {"code": phrase.replace(" ", ""), "message": f"{phrase} (injected fault {status})"}
    ).encode()
