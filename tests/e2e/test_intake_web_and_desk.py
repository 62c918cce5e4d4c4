"""The web form and the rating page /lapor/puas (through a real headless Chromium when
installed, axe-core on the rating page, its screenshots in docs/screenshots/intake-rating*.png
for docs/intake.md) and the walk-in desk, end to end: a running intake process, the resulting
events read back from the real broker."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from schemas import staff
from schemas.events import serialize_event
from schemas.events.base import partition_key
from schemas.events.routing import CaseStatus, CaseStatusChanged, CaseStatusChangedPayload
from schemas.staff import Role, StaffMember
from schemas.topics import CASES
from services.messaging.kafka import make_producer
from tests.e2e.browser import _browser, _checked, _submit, _wait
from tests.e2e.test_intake_whatsapp import EventTap, Intake
from tests.support import distinct_complaint, eventually

pytestmark = pytest.mark.e2e

STAFF_SECRET = "intake-web-and-desk-staff-secret"
NIK = "3171015501900001"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
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

        browser = _browser(javascript=False)
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


async def _closed_by_routing(stack: Any, received: Any) -> None:
    """Routing's word that the complaint's case is closed, on lapor.cases.v1 as routing
    publishes it: intake's consumer applies it, and the rating page takes answers."""
    closed = CaseStatusChanged(
        complaint_id=received.complaint_id,
        correlation_id=received.correlation_id,
        producer="routing",
        occurred_at=datetime.now(UTC),  # the 10 days to answer run from now
        payload=CaseStatusChangedPayload(
            case_id=uuid.uuid4(),
            tracking_code=received.payload.tracking_code,
            previous_status=CaseStatus.RESPONDED,
            status=CaseStatus.CLOSED,
            actor="officer-atr",
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            note="Sertifikat dapat diambil di kantor pertanahan.",
        ),
    )
    producer = make_producer(stack.kafka_bootstrap, "intake-rating-e2e")
    await producer.start()
    try:
        await producer.send_and_wait(CASES.name, serialize_event(closed), key=partition_key(closed))
    finally:
        await producer.stop()


async def test_the_owner_rates_a_closed_report_on_the_rating_page_in_a_real_browser(
    stack,  # type: ignore[no-untyped-def]
    intake: Intake,
    tap: EventTap,
) -> None:
    """/lapor/puas in Chromium: the form, its error summary, the answer (TIDAK PUAS, 2), each
    page checked by axe-core; the reply says only that the answer was recorded (routing
    decides whether the case re-opens); SatisfactionRated reaches the topic."""
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    body = distinct_complaint(random.randint(1_000, 9_000_000), "0857")
    phone = str(body["phone"])
    async with httpx.AsyncClient(base_url=intake.url) as client:
        filed = await client.post("/v1/complaints", json=body)
        assert filed.status_code == 202, filed.text
        code = str(filed.json()["tracking_code"])
        (received,) = await eventually(lambda: _found(tap, code))
        await _closed_by_routing(stack, received)

        async def closed() -> bool:
            shown = await client.get(f"/v1/complaints/{code}")
            return shown.json().get("status") == "closed"

        await eventually(closed, within=120)

    def rate() -> tuple[str, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser = _browser()
        try:
            browser.get(f"{intake.url}/lapor/status?kode={code}")
            browser.find_element(By.ID, "rate-link").click()
            _wait(browser, "answer")
            _checked(browser, "rating", site="intake")
            browser.find_element(By.ID, "phone").send_keys(phone)
            _submit(browser, browser.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
            error = _wait(browser, "answer-error").text  # no answer chosen
            _checked(browser, "rating-error", site="intake")
            browser.find_element(By.CSS_SELECTOR, "input[value=tidak_puas]").click()
            Select(browser.find_element(By.ID, "score")).select_by_value("2")
            _submit(browser, browser.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
            done = _wait(browser, "rate-done").text
            _checked(browser, "rating-done", site="intake")
            return error, done
        finally:
            browser.quit()

    error, done = await asyncio.to_thread(rate)
    assert error == "Pilih PUAS atau TIDAK PUAS."
    assert done == "Terima kasih, penilaian Anda sudah kami catat."
    (rated,) = await eventually(lambda: _rated(tap, code))
    payload = rated.payload  # type: ignore[attr-defined]
    assert (payload.satisfied, payload.score, payload.channel) == (False, 2, "web")


async def _rated(tap: EventTap, code: str) -> list[object]:
    return tap.of("SatisfactionRated", tracking_code=code)  # type: ignore[return-value]
