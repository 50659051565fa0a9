"""Screenshots of the running app's pages with headless Chromium, for the README and for looking.

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8501 docs/screenshots [page-path ...]

Page paths are the URL paths of the pages ("" is the default page, "funnel" another page).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS


def main(url: str, out: str, *paths: str) -> None:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        height = int(os.environ.get("SHOT_HEIGHT", "1000"))  # Streamlit scrolls inside the page: make it tall
        width = int(os.environ.get("SHOT_WIDTH", "1400"))  # 390 for a phone
        page = browser.new_page(viewport={"width": width, "height": height})
        for path in paths or ("",):
            page.goto(f"{url}/{path}")
            page.wait_for_selector("h1", timeout=120_000)
            if page.locator(".js-plotly-plot").count() or path == "":
                page.wait_for_selector(".js-plotly-plot g.point, .js-plotly-plot .trace", timeout=60_000)
            page.wait_for_timeout(3000)  # the sidebar navigation settles after the first run
            name = (path or "overview").replace("/", "_")
            page.screenshot(path=str(target / f"{name}.png"), full_page=True)
            print(target / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
