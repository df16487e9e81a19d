"""The Airflow UI in a real browser: a Neon connection made in the form, tested, and a run triggered.

Drives the system's Chromium (``/usr/bin/chromium``; Playwright's own browser download is never
used) against a real deployment whose ``neon_target`` connection does not exist until the test
creates it through the Connections page. Saves screenshots of the connection form and of the
finished run's Grid under ``docs/img/`` (the README shows them).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.deployment.conftest import start_deployment
from tests.deployment.harness import DAG_ID, ENDPOINT_ID, NEON_CONN_ID, ROOT, Deployment, DeploymentOptions

pytestmark = [pytest.mark.browser, pytest.mark.deployment, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "docs" / "img"
#: How long the UI may take to show something (a toast, a state badge), in milliseconds.
UI_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    """A Chromium page with a new user-data-dir, or a skip that says why there is none."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs it with apt-get where it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing: the 'browser' extra")
    with (
        tempfile.TemporaryDirectory(prefix="neon-dms-chromium-") as profile,
        sync_api.sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture(scope="module")
def deployment(pg_server: Any, browser_page: Any) -> Iterator[Deployment]:
    yield from start_deployment(pg_server, DeploymentOptions(neon_connection="none"))


def test_connection_form_test_button_and_trigger_form(deployment: Deployment, browser_page: Any) -> None:
    page = browser_page
    page.set_default_timeout(UI_TIMEOUT_MS)
    base = deployment.api_url
    # The simple auth manager (all admins) logs the browser in and sends it on.
    page.goto(f"{base}/auth/token/login?next={base}/connections")

    # -- the Neon connection, through the form --------------------------------------------------
    page.get_by_role("button", name="Add Connection").click()
    page.locator("input[name=connection_id]").fill(NEON_CONN_ID)
    page.get_by_role("combobox").last.click()
    page.keyboard.type("Neon")
    page.keyboard.press("Enter")
    page.locator("input[name=host]").fill("127.0.0.1")
    page.locator("input[name=login]").fill(deployment.neon_role)
    page.locator("input[name=password]").fill(deployment.neon_password)
    page.locator("input[name=port]").fill(str(deployment.proxy_port))
    page.locator("input[name=schema]").fill(deployment.neon_db)
    page.get_by_role("button", name="Extra Fields", exact=True).click()
    page.locator("input[name=element_endpoint_id]").fill(ENDPOINT_ID)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "neon-connection-form.png"))
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Connection has been successfully created").wait_for()
    saved = deployment.api.request("GET", f"/connections/{NEON_CONN_ID}").json()
    assert saved["conn_type"] == "neon"
    assert ENDPOINT_ID in saved["extra"]

    page.get_by_role("button", name="Test Connection").click()
    toast = page.locator("[data-scope=toast][data-part=root]").filter(has_text="Test Connection").first
    toast.wait_for()
    message = toast.inner_text()
    assert "Successful" in message, message
    assert f"Connected to Neon endpoint {ENDPOINT_ID}, database {deployment.neon_db}" in message
    assert deployment.neon_password not in message

    # -- a run, from the trigger form ------------------------------------------------------------
    page.goto(f"{base}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger Dag").click()
    page.locator("input[name=element_task_identifier]").fill("neon-dms-browser")
    page.get_by_test_id("trigger-dag-submit").click()
    page.wait_for_url("**/runs/**")
    run_id = unquote(page.url.rsplit("/runs/", 1)[1].split("?")[0])
    run = deployment.api.wait_for_run(DAG_ID, run_id)
    assert run["conf"]["task_identifier"] == "neon-dms-browser"
    assert run["state"] == "success", deployment.api.task_instances(DAG_ID, run_id)

    page.reload()
    page.get_by_test_id("state-badge").filter(has_text="Success").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "grid-finished-run.png"))
