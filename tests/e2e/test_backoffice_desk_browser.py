"""The walk-in desk's back-office pages in a real headless Chromium, with intake and the back
office as processes sharing LAPOR_STAFF_ASSERTION_SECRET (intake's desk clock fixed on an
open Tuesday morning): a citizen books online; a desk officer signs in, checks the booking
in, files the walk-in complaint with a scanned PDF attached and sees the receipt with the
tracking code, which intake then reports as a walk-in complaint with its document. axe-core
checks each page (no serious or critical violation); screenshots go to
docs/screenshots/backoffice-desk*.png."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from services.backoffice.entrypoints.staff_cli import add_staff
from tests.e2e.browser import _browser, _checked, _sign_in, _submit, _wait
from tests.support import ServiceProcess

pytestmark = pytest.mark.e2e

PASSWORD = "kata-sandi-yang-panjang"
SECRET = "backoffice-desk-browser-secret"
# Tuesday 2 February 2027, 10:00 in Jakarta: the desk is open and it is no public holiday.
DESK_NOW = datetime(2027, 2, 2, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
async def services(
    stack,  # type: ignore[no-untyped-def]
    database_url: str,
    topics: list[str],
    tmp_path_factory: Any,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    await add_staff(database_url, ("wati", "Wati Meja", ["desk_officer"], None), PASSWORD)
    logs = tmp_path_factory.mktemp("backoffice-desk-logs")
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_STAFF_ASSERTION_SECRET": SECRET,
    }
    intake = ServiceProcess(
        "intake", {**env, "LAPOR_INTAKE_DESK_CLOCK": DESK_NOW.isoformat()}, logs
    ).start()
    await intake.wait_ready()
    backoffice = ServiceProcess(
        "backoffice", {**env, "LAPOR_BACKOFFICE_INTAKE_URL": intake.url}, logs
    ).start()
    await backoffice.wait_ready()
    yield {"intake": intake, "backoffice": backoffice}
    assert backoffice.terminate() == 0, backoffice.log_tail()
    assert intake.terminate() == 0, intake.log_tail()


async def test_a_desk_officer_files_a_walk_in_complaint_with_a_scanned_pdf(
    services: dict[str, ServiceProcess], database_url: str, tmp_path: Path
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    intake, base = services["intake"], services["backoffice"].url
    async with httpx.AsyncClient(base_url=intake.url, timeout=30) as citizen:
        booked = await citizen.post(
            "/v1/walk-in/bookings",
            json={"name": "Dewi Lestari", "phone": "0813-1111-2222", "visit_date": "2027-02-02"},
        )
    assert booked.status_code == 201, booked.text
    booking = booked.json()["booking_code"]
    scan = tmp_path / "surat-keterangan.pdf"
    scan.write_bytes(PDF)

    def walk() -> tuple[str, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser = _browser()
        try:
            _sign_in(browser, base, "wati", PASSWORD)
            _wait(browser, "areas")
            browser.find_element(By.LINK_TEXT, "Meja pengaduan").click()
            _wait(browser, "check-in-form")
            browser.find_element(By.ID, "checkin-code").send_keys(booking)
            _submit(
                browser,
                browser.find_element(By.CSS_SELECTOR, "#check-in-form button[type=submit]"),
            )
            notice = _wait(browser, "done").text
            browser.find_element(By.ID, "complaint-code").send_keys(booking)
            browser.find_element(By.ID, "nik").send_keys("3171015501900001")
            Select(browser.find_element(By.ID, "region_code")).select_by_value("32.73")
            browser.find_element(By.ID, "address").send_keys("Jl. Cibiru Hilir")
            browser.find_element(By.ID, "description").send_keys(
                "Jembatan desa di Cibiru retak parah dan bergoyang kalau dilewati mobil."
            )
            browser.find_element(By.ID, "attachments").send_keys(str(scan))
            _checked(browser, "desk")
            _submit(
                browser,
                browser.find_element(By.CSS_SELECTOR, "#complaint-form button[type=submit]"),
            )
            code = _wait(browser, "tracking-code").text
            receipt = browser.find_element(By.ID, "receipt").text
            _checked(browser, "desk-receipt")
            assert code in receipt, receipt
            return notice, code
        finally:
            browser.quit()

    notice, code = await asyncio.to_thread(walk)
    assert notice == f"Nomor antrean 001 untuk Dewi Lestari ({booking})."
    assert code.startswith("LPR-")
    async with httpx.AsyncClient(base_url=intake.url, timeout=30) as citizen:
        status = await citizen.get(f"/v1/complaints/{code}")
    assert status.status_code == 200 and status.json()["channel"] == "walk_in", status.text
    conn = await asyncpg.connect(database_url)
    try:
        kept = await conn.fetchrow(
            "SELECT c.officer_id, a.media_type, a.size_bytes FROM intake.complaints c"
            " JOIN intake.complaint_attachments a USING (complaint_id) WHERE c.tracking_code = $1",
            code,
        )
    finally:
        await conn.close()
    assert kept is not None, "the scanned document was not kept"
    assert (kept["officer_id"], kept["media_type"], kept["size_bytes"]) == (
        "wati",
        "application/pdf",
        len(PDF),
    )
