"""The web form (through a real headless Chromium when installed) and the walk-in desk, end
to end: a running intake process, the resulting events read back from the real broker."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from schemas import staff
from schemas.staff import Role, StaffMember
from tests.e2e.test_intake_whatsapp import EventTap, Intake
from tests.support import eventually

pytestmark = pytest.mark.e2e

STAFF_SECRET = "intake-web-and-desk-staff-secret"
NIK = "3171015501900001"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Tuesday 2 February 2027, 10:00 in Jakarta: the desk is open and it is no public holiday.
DESK_NOW = datetime(2027, 2, 2, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


@pytest.fixture(scope="module")
async def intake(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[Intake]:  # type: ignore[no-untyped-def]
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        # Desk officers come through the back office with its staff assertion.
        "LAPOR_STAFF_ASSERTION_SECRET": STAFF_SECRET,
        # The test runs at any hour and on any day: the desk's clock stands still on a
        # Tuesday morning that is no public holiday, within the default opening hours.
        "LAPOR_INTAKE_DESK_CLOCK": DESK_NOW.isoformat(),
    }
    service = Intake(env, tmp_path_factory.mktemp("intake-web-logs"))
    await service.start()
    yield service
    assert service.process.terminate() == 0, service.process.log_tail()


@pytest.fixture(scope="module")
async def tap(stack, database_url, topics) -> AsyncIterator[EventTap]:  # type: ignore[no-untyped-def]
    tap = EventTap(stack.kafka_bootstrap, database_url)
    await tap.start()
    yield tap
    await tap.stop()


def _desk_officer() -> dict[str, str]:
    """The back office's header for a signed-in desk officer (fresh: it lives a minute)."""
    member = StaffMember("petugas-e2e", frozenset({Role.DESK_OFFICER}), None)
    return {staff.HEADER: staff.sign(member, STAFF_SECRET)}


async def _found(tap: EventTap, code: str) -> list[object]:
    return tap.of("ComplaintReceived", tracking_code=code)  # type: ignore[return-value]


async def test_a_walk_in_registration_ends_as_a_tracked_complaint(
    intake: Intake, tap: EventTap
) -> None:
    today = DESK_NOW.date()  # the desk's (fixed) today
    async with httpx.AsyncClient(base_url=intake.url) as client:
        booked = await client.post(
            "/v1/walk-in/bookings",
            json={"name": "Dewi Lestari", "phone": "0813-1111-2222", "visit_date": str(today)},
        )
        assert booked.status_code == 201, booked.text
        code = booked.json()["booking_code"]
        checked = await client.post(
            "/v1/walk-in/check-ins", json={"booking_code": code}, headers=_desk_officer()
        )
        assert checked.status_code == 200, checked.text
        taken = await client.post(
            "/v1/walk-in/complaints",
            json={
                "booking_code": code,
                "nik": NIK,
                "city": "Kota Bandung",
                "description": "Jalan di depan sekolah dasar rusak parah dan membahayakan murid.",
                "anonymous": True,
            },
            headers=_desk_officer(),
        )
        assert taken.status_code == 201, taken.text
        tracking_code = taken.json()["tracking_code"]
        (received,) = await eventually(lambda: _found(tap, tracking_code))
        payload = received.payload  # type: ignore[attr-defined]
        assert payload.channel == "walk_in" and payload.anonymous is True
        assert payload.reporter.phone == "+6281311112222"
        status = await client.get(f"/v1/complaints/{tracking_code}")
        assert status.status_code == 200 and status.json()["channel"] == "walk_in"


async def test_a_form_posted_without_a_browser_files_with_its_document(
    intake: Intake, tap: EventTap
) -> None:
    async with httpx.AsyncClient(base_url=intake.url) as client:
        # As a browser does: open the form (its cookie is kept) and send its hidden token back.
        page = await client.get("/lapor")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        response = await client.post(
            "/lapor",
            data={
                "csrf_token": token.group(1),
                "name": "Siti Aminah",
                "nik": NIK,
                "phone": "081234567890",
                "city": "Jakarta Pusat",
                "description": "Ijazah anak saya ditahan sekolah karena tunggakan biaya komite.",
                "secret": "1",
            },
            files={"attachments": ("surat.pdf", PDF, "application/pdf")},
        )
        assert response.status_code == 303, response.text
        code = response.headers["location"].split("/")[-1].split("?")[0]
    (received,) = await eventually(lambda: _found(tap, code))
    payload = received.payload  # type: ignore[attr-defined]
    assert payload.secret is True and payload.attachments[0].filename == "surat.pdf"


def _browser():  # type: ignore[no-untyped-def]
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "Debian's chromium is not installed: apt-get install -y chromium chromium-driver"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


async def test_a_citizen_files_through_the_form_in_a_real_browser_without_javascript(
    intake: Intake, tap: EventTap, tmp_path: Path
) -> None:
    pytest.importorskip("selenium", reason="pip install selenium (pinned in pyproject test extra)")
    document = tmp_path / "bukti-pembayaran.pdf"
    document.write_bytes(PDF)

    def fill_in_the_form() -> tuple[str, str, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import Select, WebDriverWait

        def appears(browser: Any, element_id: str) -> Any:
            return WebDriverWait(browser, 60).until(
                expected_conditions.presence_of_element_located((By.ID, element_id))
            )

        browser = _browser()
        try:
            browser.get(f"{intake.url}/lapor")
            browser.find_element(By.ID, "name").send_keys("Siti Aminah")
            browser.find_element(By.ID, "nik").send_keys("1234")  # a typo first
            browser.find_element(By.ID, "phone").send_keys("0812-3456-7890")
            browser.find_element(By.ID, "description").send_keys(
                "Sertifikat tanah saya tidak terbit sejak 2019 padahal biaya sudah lunas."
            )
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            # A click does not wait for the next page; wait for it (bounds a hang, not speed).
            error = appears(browser, "nik-error").text
            nik = browser.find_element(By.ID, "nik")
            nik.clear()
            nik.send_keys(NIK)
            # Where the problem is: a regency picked from the province-grouped list.
            Select(browser.find_element(By.ID, "region_code")).select_by_value("32.73")
            browser.find_element(By.ID, "attachments").send_keys(str(document))
            browser.find_element(By.ID, "anonymous").click()
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            code = appears(browser, "tracking-code").text
            url = browser.current_url
            # The status page, through its own form, speaks to the citizen in words and WIB.
            browser.get(f"{intake.url}/lapor/status")
            browser.find_element(By.ID, "kode").send_keys(code)
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            status = appears(browser, "status")
            shown = (status.get_attribute("data-status"), status.text)
            updated = browser.find_element(By.ID, "updated").text
            return error, code, url, shown, updated
        finally:
            browser.quit()

    error, code, url, shown, updated = await asyncio.to_thread(fill_in_the_form)
    assert error == "NIK harus tepat 16 angka."
    assert code.startswith("LPR-") and "/lapor/terima/" in url
    status, words = shown
    assert words and words != status and "_" not in words  # a label, not the status id
    assert updated.endswith(" WIB")
    (received,) = await eventually(lambda: _found(tap, code))
    payload = received.payload  # type: ignore[attr-defined]
    assert payload.anonymous is True and payload.reporter.nik == NIK
    assert [a.filename for a in payload.attachments] == ["bukti-pembayaran.pdf"]
    assert (payload.location.region_code, payload.location.city) == ("32.73", "Kota Bandung")
