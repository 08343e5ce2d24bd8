"""A real browser on the web workspace: Playwright driving the system's Chromium.

Uploads the sample, builds, opens the report, edits a threshold, scores a
pasted account and downloads the HubSpot CSV, with screenshots in
``test-artifacts/``. Skips (saying why) only where Playwright or Chromium is
not installed; Chromium comes from the OS package, never a browser download.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install 'icpkit[browser]')"
)

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("ICP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CODE = "browser-setup-code"

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    from icpkit.web import create_app

    app = create_app(tmp_path_factory.mktemp("ws"), setup_code=CODE)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    app.state.service.close()


@pytest.fixture(scope="module")
def sample(small_sample_files) -> dict[str, Path]:
    return small_sample_files


def test_upload_build_report_edit_score_download(base_url, sample, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)

    def shot(page, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            # first start: the setup link sets the password and logs in
            page.goto(f"{base_url}/setup?code={CODE}")
            page.fill("input[name=password]", "correct horse")
            page.fill("input[name=confirm]", "correct horse")
            page.click("text=Set password and log in")
            page.wait_for_url(f"{base_url}/")
            shot(page, "01-welcome")

            # upload: a broken file is refused next to its row, then the real ones
            page.click("header nav >> text=Data")
            bad = tmp_path / "deals.csv"
            bad.write_text("deal_id,account_id,outcome,amount\nD1,A1,won,lots\n")
            page.set_input_files("input[data-upload=deals]", str(bad))
            page.wait_for_selector("#row-deals .msg.bad")
            assert "amount" in page.inner_text("#row-deals .msg")
            shot(page, "02-upload-error")
            for table in ("accounts", "deals", "contacts"):
                page.set_input_files(f"input[data-upload={table}]", str(sample[table]))
                page.wait_for_selector(f"#row-{table} .msg.ok")
            assert "rows" in page.inner_text("#row-accounts .msg")
            shot(page, "03-uploaded")

            # build, with live progress
            page.click("#build-btn")
            page.wait_for_selector("#build-status .spinner, #open-report")
            page.wait_for_selector("#open-report", timeout=120_000)
            page.wait_for_function(
                "document.querySelector('#row-accounts td.n').textContent.trim().replace(',', '') == '1000'"
            )
            shot(page, "04-built")

            # the report, by section
            page.click("#open-report")
            page.wait_for_url(f"{base_url}/report/summary")
            assert page.is_visible(".statement")
            shot(page, "05-report-summary")
            page.click("aside.side >> text=Tiered ICP")
            page.wait_for_url(f"{base_url}/report/tiers")
            shot(page, "06-report-tiers")
            page.click("aside.side >> text=Negative ICP")
            page.wait_for_url(f"{base_url}/report/negative")

            # edit a threshold, preview, save as a new version
            page.click("header nav >> text=ICP")
            version = int(page.inner_text("header .pill").split("v")[1])
            box = page.locator("input[name='tier.1.min_score']")
            old = int(box.input_value())
            box.fill(str(old - 5))
            page.click("#preview-btn")
            page.wait_for_selector("#preview")
            text = page.inner_text("#preview")
            assert (
                "accounts change tier" in text and f"Tier 1 minimum score {old} → {old - 5}" in text
            )
            page.locator("#preview").scroll_into_view_if_needed()
            shot(page, "07-icp-preview")
            page.fill("input[name=note]", "lower the Tier 1 bar")
            page.click("#save-btn")
            page.wait_for_url(f"**/icp/versions/{version + 1}?saved=1")
            assert f"Saved as version {version + 1}" in page.inner_text("main")
            assert f"+  min_score: {old - 5}" in page.inner_text("pre.diff")
            shot(page, "08-icp-saved-diff")

            # score a pasted account and download the HubSpot file
            page.click("header nav >> text=Score")
            page.fill(
                "textarea[name=text]",
                "account_id,name,domain,industry,employees,country,funding_stage,tech_stack\n"
                "NEW-1,Acme Freight,acmefreight.com,logistics,320,US,series_b,sap;aws\n",
            )
            page.click("#score-btn")
            page.wait_for_selector("#results")
            assert "NEW-1" in page.inner_text("#results")
            shot(page, "09-scored")
            with page.expect_download() as dl:
                page.click("#dl-hubspot")
            target = ARTIFACTS / "web-hubspot-import.csv"
            dl.value.save_as(str(target))
            lines = target.read_text().splitlines()
            assert lines[0] == (
                "Record ID,Company Domain Name,icp_score,icp_tier,icp_route,icp_reasons,"
                "icp_why_now,icp_version,icp_scored_at"
            )
            assert lines[1].startswith("NEW-1,acmefreight.com,")
        except Exception:
            shot(page, "99-failure")
            raise
        finally:
            context.close()
            browser.close()
