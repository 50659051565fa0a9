"""Screenshots of the dashboard pointed at one of the fake CRMs of tests/fakes, for looking at a connector.

    .venv/bin/python scripts/shoot_fake.py kommo docs/screenshots/kommo [page-path ...]

Starts `python -m tests.fakes.<name>` (3,000 leads), the app on a free port with LEADS_SOURCE=<name> aimed
at it, takes the screenshots (scripts/screenshot.py) and stops both.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.screenshot import main as screenshot  # noqa: E402
from tests.e2e.conftest import free_port, start_app  # noqa: E402

PAGES = ("", "funnel", "statuses", "marketing", "leads", "new_lead", "settings")


def main(name: str, out: str, *paths: str) -> None:
    fake = subprocess.Popen(
        [sys.executable, "-m", f"tests.fakes.{name}", "--port", str(free_port()), "--size", "3000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = fake.stdout.readline()  # "<name> fake at LEADS_BASE_URL=... LEADS_TOKEN=..."
        env = dict(part.split("=", 1) for part in line.split() if part.startswith("LEADS_"))
        with tempfile.TemporaryDirectory() as data_dir:
            app, url = start_app(Path(data_dir), {"LEADS_SOURCE": name, **env})
            try:
                screenshot(url, out, *(paths or PAGES))
            finally:
                app.kill()
    finally:
        fake.kill()


if __name__ == "__main__":
    main(*sys.argv[1:])
