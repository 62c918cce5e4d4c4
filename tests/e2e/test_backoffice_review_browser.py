"""A reviewer decides a queued complaint in a real headless Chromium, and the citizen's status
follows: intake, triage, routing and the notifier run as processes (the e2e `pipeline`), the
back office as a process pointed at them. A complaint goes to review when triage is unsure:
here "filed before" (score 0.5), written like an accepted complaint of the same regency, so
the item page shows that one next to it. axe-core checks each review page; the screenshots
go to docs/screenshots/backoffice-review*.png for docs/backoffice.md."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.backoffice.entrypoints.staff_cli import add_staff
from tests.e2e.browser import (
    PASSWORD,
    _browser,
    _checked,
    _sign_in,
    _submit,
    _wait,
)
from tests.e2e.conftest import Pipeline
from tests.support import ServiceProcess, distinct_complaint, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def backoffice(
    pipeline: Pipeline, database_url: str, tmp_path_factory: Any
) -> AsyncIterator[ServiceProcess]:
    await add_staff(database_url, ("rina", "Rina Peninjau", ["reviewer"], None), PASSWORD)
    env = {
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_BACKOFFICE_TRIAGE_URL": pipeline.services["triage"].url,
        "LAPOR_BACKOFFICE_ROUTING_URL": pipeline.services["routing"].url,
        "LAPOR_BACKOFFICE_INTAKE_URL": pipeline.intake_url,
    }
    service = ServiceProcess("backoffice", env, tmp_path_factory.mktemp("backoffice-logs"))
    service.start()
    await service.wait_ready()
    yield service
    assert service.terminate() == 0, service.log_tail()


async def _file(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    filed = await client.post("/v1/complaints", json=body)
    assert filed.status_code == 202, filed.text
    return str(filed.json()["tracking_code"])


async def _status(client: httpx.AsyncClient, code: str) -> str:
    shown = await client.get(f"/v1/complaints/{code}")
    return str(shown.json().get("status")) if shown.status_code == 200 else ""


async def test_a_reviewer_accepts_a_queued_complaint_and_the_citizen_status_follows(
    pipeline: Pipeline, backoffice: ServiceProcess, db: asyncpg.Pool
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    n = random.randint(1_000, 9_000_000)
    original = distinct_complaint(n, "0856")
    region = original.pop("region_code")
    twin = distinct_complaint(n + 1, "0856")
    twin.pop("region_code")
    text = str(original["description"]).removesuffix(".")
    async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
        first = await _file(client, {**original, "location": {"region_code": region}})
        await eventually(lambda: _status(client, first), within=180)

        async def accepted_first() -> bool:
            return await _status(client, first) not in ("", "received")

        await eventually(accepted_first, within=180)
        twin["description"] = f"{text}, sudah pernah saya laporkan ke kelurahan."
        code = await _file(
            client, {**twin, "location": {"region_code": region}, "filed_before": True}
        )

        async def queued() -> str | None:
            found = await db.fetchval(
                "SELECT complaint_id FROM triage.review_items WHERE tracking_code = $1", code
            )
            return None if found is None else str(found)

        complaint_id = await eventually(queued, within=180)
        waiting = await _status(client, code)

    def decide() -> tuple[str, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser = _browser()
        try:
            base = backoffice.url
            _sign_in(browser, base, "rina", PASSWORD)
            _wait(browser, "sign-out")
            browser.get(f"{base}/staff/tinjau")
            _wait(browser, "review-queue")
            row = browser.find_element(By.CSS_SELECTOR, f"tr[data-complaint-id='{complaint_id}']")
            _checked(browser, "review")
            row.find_element(By.TAG_NAME, "a").click()
            _wait(browser, "claim")
            _submit(browser, browser.find_element(By.ID, "claim"))
            _wait(browser, "accept-category")
            similar = browser.find_element(By.ID, "similar").text
            _checked(browser, "review-item")
            Select(browser.find_element(By.ID, "accept-category")).select_by_value("land")
            browser.find_element(By.ID, "accept-note").send_keys("Laporan sah, bukan iseng.")
            _submit(browser, browser.find_element(By.ID, "accept"))
            done = _wait(browser, "done").text
            browser.get(f"{base}/staff/tinjau/riwayat?reviewer=rina&action=accept")
            table = _wait(browser, "review-log").text
            _checked(browser, "review-log")
            return similar + "\n" + done, table
        finally:
            browser.quit()

    shown, log = await asyncio.to_thread(decide)
    assert first in shown  # the accepted complaint it resembles, side by side
    assert "diterima" in shown
    assert code in log and "rina" in log

    async def followed() -> str | None:
        async with httpx.AsyncClient(base_url=pipeline.intake_url, timeout=30) as client:
            now = await _status(client, code)
        return now if now not in ("", waiting) else None

    final = await eventually(followed, within=180)
    assert final not in ("rejected", "duplicate"), final
