"""Browser tests: the real app started with `streamlit run` on a free port, driven by Playwright in
Debian's Chromium (/usr/bin/chromium; browser downloads are impossible here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(
    data_dir: Path,
    env_extra: dict[str, str] | None = None,
    *,
    extra_args: list[str] | None = None,
    port: int | None = None,
) -> tuple[subprocess.Popen, str]:
    """`extra_args`: more `streamlit run` options (e.g. --secrets.files); `port`: one picked beforehand
    (free_port()) when a setting must name it before the app starts (a single sign-on redirect URI)."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADS_")}
    env.update(
        {
            "LEADS_DATA_DIR": str(data_dir),
            "LEADS_DEMO_SIZE": "800",
            "LEADS_NOW": NOW,
            "LEADS_AUTH": "off",  # sign-in tests pass LEADS_AUTH=on (or auto) in env_extra
            "LEADS_DEMO_ALIVE": "false",  # the demo stays as seeded, so counts are known
            **(env_extra or {}),
        }
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            *(extra_args or []),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited early:\n" + proc.stdout.read().decode(errors="replace"))
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text.strip() == "ok":
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the app did not become healthy within 60 s")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run should have installed it")
        pytest.skip(f"Chromium not found at {CHROMIUM}: sudo apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def stop_app(proc: subprocess.Popen) -> None:
    """Stop an app started by start_app: politely, then for good."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextmanager
def running_app(data_dir: Path, env_extra: dict[str, str] | None = None, **options) -> Iterator[str]:
    """The app (start_app's arguments) running for the block; yields its URL and stops it afterwards."""
    proc, url = start_app(data_dir, env_extra, **options)
    try:
        yield url
    finally:
        stop_app(proc)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("e2e-data")) as url:
        yield url


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    pg = context.new_page()
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
