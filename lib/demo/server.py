"""The demo CRM: a local HTTP server speaking the "v2" contract of apis.md §1, backed by DemoDB.

The app talks to it exactly as to a real CRM (bearer token, JSON, ORDS-style paging), over loopback HTTP.

    with DemoCRM(Path(".data"), size=5000) as crm:
        httpx.get(crm.base_url + "/v2/leads", headers={"Authorization": f"Bearer {crm.token}"})

`respond()` is the whole protocol as a pure function of a request (method, target, headers, body) to
(status, headers, body bytes); the HTTP handler only moves bytes. Tests' fault-injecting subclass hooks in
at `handle_request()`.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from lib import clock
from lib.demo import alive as alive_rule
from lib.demo import data
from lib.demo.db import DEFAULT_DB_NAME, DemoDB

LEADS_PATH = "/v2/leads"
STATUSES_PATH = "/v2/leads/statuses"
CREATE_PATH = "/v2/leads/create"
CREATED_MESSAGE = "הליד נוצר בהצלחה"  # "the lead was created successfully" (seed 003)
REQUIRED_FIELDS = ("name", "f_name", "phone")
OPTIONAL_TEXT_FIELDS = tuple(
    f
    for f in data.LEAD_FIELDS
    if f not in {"id", "lead_status", "is_subscriber", "created_at", "updated_at"}
    and f not in REQUIRED_FIELDS
)
MAX_BODY_BYTES = 1 << 20
JSON_TYPE = "application/json; charset=utf-8"
Response = tuple[int, dict[str, str], bytes]


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": JSON_TYPE, **(headers or {})}, _json_bytes(payload)


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response(status, {"code": code, "message": message, **extra})


class _BadRequest(Exception):
    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message, self.extra = message, extra


def _int_param(query: dict[str, list[str]], name: str, default: int, minimum: int = 0) -> int:
    values = query.get(name)
    if not values:
        return default
    raw = values[-1].strip()
    if not raw:  # "?page=" means the default
        return default
    if not raw.isdigit() or int(raw) < minimum or len(raw) > 12:
        raise _BadRequest(f"{name} must be an integer >= {minimum}, got {values[-1]!r}")
    return int(raw)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries Content-Length
    server_version = "DemoCRM/1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence the default request logging
        pass

    def _dispatch(self) -> None:
        self.server.crm.handle_request(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def read_body(self) -> bytes | None:
        """The request body (b"" if none); None when it is too large or malformed (the connection closes)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    self.close_connection = True
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def send(self, status: int, headers: dict[str, str], body: bytes, *, length: int | None = None) -> None:
        """Write a response; `length` overrides Content-Length (a fault may announce more than it sends)."""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    crm: DemoCRM

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is not news
            super().handle_error(request, client_address)


class DemoCRM:
    """A v2-contract CRM on 127.0.0.1 backed by a seeded SQLite file in `data_dir`.

    `style` "ords" pages with `?page=N` and `first`/`next` `$ref` links; "links" uses the newer ORDS form
    (`hasMore`, `limit`, `offset`, `count`, `links`) and also accepts `?offset=&limit=`.
    """

    def __init__(
        self,
        data_dir: Path,
        size: int = 5000,
        token: str = "demo-token",
        page_size: int = 1000,
        style: str = "ords",
        prefix: str = "",
        end: datetime | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        seed: int = 7,
        alive: bool = False,
        tick_seconds: float = 60.0,
        max_growth: int = alive_rule.DEFAULT_MAX_GROWTH,
    ) -> None:
        if tick_seconds <= 0:
            raise ValueError("tick_seconds must be > 0")
        if max_growth < 0:
            raise ValueError("max_growth must be >= 0")
        if style not in ("ords", "links"):
            raise ValueError("style must be 'ords' or 'links'")
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        if not token:
            raise ValueError("token must not be empty")
        prefix = prefix.strip().rstrip("/")
        if prefix and not prefix.startswith("/"):
            prefix = "/" + prefix
        self.data_dir = Path(data_dir)
        self.token = token
        self.page_size = page_size
        self.style = style
        self.prefix = prefix
        self.host = host
        self.db = DemoDB(self.data_dir / DEFAULT_DB_NAME, size, end=end, seed=seed)
        self.seed = seed
        # alive: a background thread ticks (lib.demo.alive) every `tick_seconds` while the server runs
        self.alive = alive
        self.tick_seconds = float(tick_seconds)
        self.max_growth = max_growth
        self.ticks = 0  # ticks the alive thread has done so far
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._heart: threading.Thread | None = None
        self._heart_stop = threading.Event()

    def __repr__(self) -> str:  # never the token
        return f"DemoCRM(base_url={self.base_url!r}, style={self.style!r}, page_size={self.page_size})"

    # ---------------------------------------------------------------------------------------- alive
    def tick(self, now: datetime) -> dict[str, int]:
        """One deterministic step of life at the aware instant `now` (lib.demo.alive): a few new leads,
        a few status moves; {"created": n, "moved": m}, both 0 if `now`'s minute was already ticked."""
        return alive_rule.tick(self.db, now, max_growth=self.max_growth, seed=self.seed)

    @property
    def heart_running(self) -> bool:
        """Whether the alive thread is running."""
        return self._heart is not None and self._heart.is_alive()

    def _start_heart(self) -> None:
        if self.alive and not self.heart_running:
            self._heart_stop.clear()
            self._heart = threading.Thread(target=self._beat, name="demo-crm-alive", daemon=True)
            self._heart.start()

    def _stop_heart(self) -> None:
        self._heart_stop.set()
        if self._heart is not None:
            self._heart.join(timeout=10)
        self._heart = None

    def _beat(self) -> None:
        """Tick every `tick_seconds` of real time, the first one interval after the start. With the clock
        pinned (LEADS_NOW) every tick would fall in the same minute: it then ticks at the pinned instant,
        or the last minute this demo file was ticked at if later (a restart goes on from there), plus one
        minute per interval elapsed since the start (with the default 60 s, the real minutes elapsed)."""
        started = time.monotonic()
        base: datetime | None = None
        failed: set[str] = set()
        while not self._heart_stop.wait(self.tick_seconds):
            try:
                now = clock.now()
                if clock.frozen() is not None:
                    if base is None:
                        last = self.db.meta().get("last_tick_minute")
                        last_at = datetime.fromtimestamp(int(last) * 60, UTC) if last else None
                        base = max(now, last_at) if last_at else now
                    now = base + timedelta(minutes=round((time.monotonic() - started) / self.tick_seconds))
                self.tick(now)
            except Exception as exc:  # a locked or damaged file: say so once, keep serving, try again later
                if type(exc).__name__ not in failed:
                    failed.add(type(exc).__name__)
                    print(f"demo CRM: a tick failed ({type(exc).__name__}: {exc})", file=sys.stderr)
                continue
            self.ticks += 1

    # ------------------------------------------------------------------------------------- lifecycle
    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def base_url(self) -> str:
        """The CRM's base URL, prefix included, e.g. ``http://127.0.0.1:54321/ords/crm``."""
        if self._httpd is None:
            raise RuntimeError("the demo CRM is not started")
        return f"http://{self.host}:{self.port}{self.prefix}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def bind(self) -> DemoCRM:
        """Open the listening socket (without serving yet), so base_url is known."""
        if self._httpd is None:
            self._httpd = _Server((self.host, self._port), _Handler)
            self._httpd.crm = self
        return self

    def start(self) -> DemoCRM:
        """Serve in a daemon thread; returns self."""
        if self.running:
            return self
        self.bind()
        assert self._httpd is not None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="demo-crm", daemon=True
        )
        self._thread.start()
        self._start_heart()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the standalone `python -m lib.demo`)."""
        self.bind()
        assert self._httpd is not None
        self._start_heart()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._stop_heart()
            self._httpd.server_close()

    def stop(self) -> None:
        self._stop_heart()
        if self._httpd is not None:
            if self.running:
                self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._httpd = None
        self.db.close()

    def __enter__(self) -> DemoCRM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------------------------------- protocol
    def handle_request(self, handler: _Handler) -> None:
        """Read one request from `handler`, answer it. Subclasses may intercept here."""
        body = handler.read_body()
        if body is None:
            handler.send(*error_response(413, "PayloadTooLarge", "request body too large or malformed"))
            return
        try:
            status, headers, payload = self.respond(handler.command, handler.path, handler.headers, body)
        except Exception as e:  # a bug or a storage problem: still a JSON answer, never a dropped socket
            status, headers, payload = error_response(
                500, "InternalError", f"{type(e).__name__} in the demo CRM"
            )
        handler.send(status, headers, payload)

    def url(self, path: str, **query: int | str | None) -> str:
        """An absolute URL of an endpoint path on this server, prefix included."""
        query = {k: v for k, v in query.items() if v is not None}
        return self.base_url + path + (f"?{urlencode(query)}" if query else "")

    def authorized(self, headers: Any) -> bool:
        scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())

    def respond(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        """The answer to one request: (status, headers, body bytes)."""
        if not self.authorized(headers):
            return json_response(
                401,
                {"code": "Unauthorized", "message": "Invalid or missing access token"},
                {"WWW-Authenticate": 'Bearer realm="demo-crm"'},
            )
        parts = urlsplit(target)
        path = parts.path
        if self.prefix:
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                return error_response(404, "NotFound", f"No such endpoint: {path}")
            path = path[len(self.prefix) :]
        path = path.rstrip("/") or "/"
        routes = {
            STATUSES_PATH: ("GET", self._get_statuses),
            LEADS_PATH: ("GET", self._get_leads),
            CREATE_PATH: ("POST", self._create_lead),
        }
        if path not in routes:
            return error_response(404, "NotFound", f"No such endpoint: {parts.path}")
        allowed, fn = routes[path]
        if method == "HEAD" and allowed == "GET":
            method = "GET"
        if method != allowed:
            return json_response(
                405,
                {"code": "MethodNotAllowed", "message": f"{method} is not allowed on {path}; use {allowed}"},
                {"Allow": allowed},
            )
        try:
            return fn(parse_qs(parts.query, keep_blank_values=True), body)
        except _BadRequest as e:
            return error_response(400, e.extra.pop("code", "BadRequest"), e.message, **e.extra)

    def _get_statuses(self, query: dict, body: bytes) -> Response:
        return json_response(200, {"items": self.db.statuses(), "first": {"$ref": self.url(STATUSES_PATH)}})

    def _get_leads(self, query: dict, body: bytes) -> Response:
        """A page of leads. `q` (ORDS filter) may ask for `{"updated_at": {"$gte": {"$date": ISO}}}`; every
        link of the answer (first, next, ...) carries the same `q`, so following them pages the filtered
        list."""
        raw_q = query["q"][-1] if query.get("q") else None
        since = parse_q(raw_q) if raw_q is not None else None
        q = raw_q if since is not None else None  # `q={}` filters nothing
        size = self.page_size
        if self.style == "links" and ("offset" in query or "limit" in query):
            limit = min(_int_param(query, "limit", size, minimum=1), size)
            offset = _int_param(query, "offset", 0)
        else:
            limit = size
            offset = _int_param(query, "page", 0) * size
        items = self.db.leads_page(offset, limit + 1, since)  # one more tells whether there is a next page
        more = len(items) > limit
        items = items[:limit]
        if self.style == "ords":
            page = offset // size
            payload: dict[str, Any] = {"items": items, "first": {"$ref": self.url(LEADS_PATH, q=q)}}
            if more:
                payload["next"] = {"$ref": self.url(LEADS_PATH, page=page + 1, q=q)}
            return json_response(200, payload)
        links = [
            {"rel": "self", "href": self.url(LEADS_PATH, offset=offset, limit=limit, q=q)},
            {"rel": "first", "href": self.url(LEADS_PATH, offset=0, limit=limit, q=q)},
        ]
        if offset > 0:
            prev = self.url(LEADS_PATH, offset=max(0, offset - limit), limit=limit, q=q)
            links.append({"rel": "prev", "href": prev})
        if more:
            links.append(
                {"rel": "next", "href": self.url(LEADS_PATH, offset=offset + limit, limit=limit, q=q)}
            )
        payload = {
            "items": items,
            "hasMore": more,
            "limit": limit,
            "offset": offset,
            "count": len(items),
            "links": links,
        }
        return json_response(200, payload)

    def _create_lead(self, query: dict, body: bytes) -> Response:
        fields = validate_new_lead(body, self.db.statuses())
        lead_id, status = self.db.insert_lead(fields)
        return json_response(201, {"id": lead_id, "lead_status": status, "message": CREATED_MESSAGE})


def parse_q(raw: str) -> datetime | None:
    """The instant of an ORDS filter `q` (a JSON object), or _BadRequest (400) naming what is wrong.

    Understood: `{}` (no filter, None) and `{"updated_at": {"$gte": {"$date": "<ISO 8601>"}}}`, the
    `$date` wrapper optional (a plain ISO string). A time without an offset is UTC, as ORDS reads `$date`.
    Any other field or operator is refused rather than silently ignored.
    """
    try:
        obj = json.loads(raw)
    except ValueError:
        raise _BadRequest(
            f"q must be a JSON object (ORDS filter), got {raw[:80]!r}", code="InvalidQuery"
        ) from None
    if not isinstance(obj, dict):
        raise _BadRequest("q must be a JSON object (ORDS filter)", code="InvalidQuery")
    unknown = sorted(k for k in obj if k != "updated_at")
    if unknown:
        raise _BadRequest(
            f"Unsupported filter field(s) in q: {', '.join(unknown)}; only updated_at can be filtered",
            code="InvalidQuery",
            fields=unknown,
        )
    if "updated_at" not in obj:
        return None
    cond = obj["updated_at"]
    if not isinstance(cond, dict) or list(cond) != ["$gte"]:
        raise _BadRequest(
            'q.updated_at must be {"$gte": {"$date": "<ISO 8601 time>"}}; no other operator is supported',
            code="InvalidQuery",
        )
    value = cond["$gte"]
    if isinstance(value, dict) and list(value) == ["$date"]:
        value = value["$date"]
    if not isinstance(value, str):
        raise _BadRequest(
            'q.updated_at.$gte must be {"$date": "<ISO 8601 time>"} or a string', code="InvalidQuery"
        )
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _BadRequest(
            f"q.updated_at.$gte is not an ISO 8601 time: {value[:40]!r}", code="InvalidQuery"
        ) from None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:
        raise _BadRequest(f"q.updated_at.$gte is out of range: {value[:40]!r}", code="InvalidQuery") from None


def _text(value: Any) -> str | None:
    """An optional text field: strings kept, numbers as text, empty/absent as None (like Oracle's '')."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value if value.strip() else None
    raise _BadRequest("optional fields must be strings", code="ValidationError")


def validate_new_lead(body: bytes, statuses: list[dict[str, str]]) -> dict[str, Any]:
    """The clean fields of a create request, or _BadRequest with a message naming the problem."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest("The request body must be a JSON object", code="InvalidJSON") from None
    if not isinstance(obj, dict):
        raise _BadRequest("The request body must be a JSON object", code="InvalidJSON")
    missing = [f for f in REQUIRED_FIELDS if not (isinstance(obj.get(f), str) and obj[f].strip())]
    if missing:
        raise _BadRequest(
            f"Missing required field(s): {', '.join(missing)}", code="ValidationError", fields=missing
        )
    wrong = [f for f in OPTIONAL_TEXT_FIELDS if isinstance(obj.get(f), dict | list)]
    if wrong:
        raise _BadRequest(
            f"Field(s) must be strings: {', '.join(wrong)}", code="ValidationError", fields=wrong
        )
    fields: dict[str, Any] = {f: obj[f] for f in REQUIRED_FIELDS}
    fields.update({f: _text(obj.get(f)) for f in OPTIONAL_TEXT_FIELDS})
    sub = obj.get("is_subscriber")
    fields["is_subscriber"] = (
        sub.strip().lower() in ("true", "1", "y", "yes") if isinstance(sub, str) else bool(sub)
    )
    status = obj.get("lead_status")
    if isinstance(status, bool) or not (status is None or isinstance(status, str | int)):
        raise _BadRequest(
            "lead_status must be a status id (a string)", code="ValidationError", fields=["lead_status"]
        )
    status = str(status).strip() if status is not None else ""
    if status:
        known = {s["id"]: s for s in statuses}
        if status not in known:
            raise _BadRequest(
                f"lead_status {status} is not a known status id",
                code="ValidationError",
                fields=["lead_status"],
            )
        if known[status]["is_active"] != "Y":
            raise _BadRequest(
                f"lead_status {status} ({known[status]['name']}) is inactive: a new lead cannot get it",
                code="ValidationError",
                fields=["lead_status"],
            )
    fields["lead_status"] = status or None
    return fields


# --------------------------------------------------------------------------------- process-wide instance
_running: dict[tuple[str, int], DemoCRM] = {}
_running_lock = threading.Lock()


def ensure_running(data_dir: Path, size: int, alive: bool | None = None) -> tuple[str, str]:
    """(base_url, token) of this process's demo CRM for (data_dir, size), started on first call.

    Thread-safe; later calls with the same arguments reuse the running server (and its random token).
    `alive` (None: the LEADS_DEMO_ALIVE setting, default true) starts it alive: a few new leads and status
    moves every few minutes (lib.demo.alive). It is decided when the server starts; a running server keeps it.
    """
    key = (str(Path(data_dir).resolve()), int(size))
    with _running_lock:
        crm = _running.get(key)
        if crm is None or not crm.running:
            if crm is not None:
                crm.stop()
            if alive is None:
                alive = _alive_setting()
            token = secrets.token_urlsafe(24)
            crm = DemoCRM(Path(data_dir), size=size, token=token, alive=alive).start()
            _running[key] = crm
        return crm.base_url, crm.token


def _alive_setting() -> bool:
    """LEADS_DEMO_ALIVE from the settings (lib.config); true when the settings cannot be read (the app
    reports those problems itself)."""
    from lib.config import load_settings
    from lib.errors import ConfigError

    try:
        return load_settings().demo_alive
    except ConfigError:
        return True


__all__ = ["DemoCRM", "ensure_running", "parse_q", "validate_new_lead"]
