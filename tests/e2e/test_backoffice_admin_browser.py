"""The disposition officer's and the admin's back-office pages in a real headless Chromium,
with routing and the back office as processes sharing LAPOR_STAFF_ASSERTION_SECRET: a
complaint no rule matches (a ComplaintAccepted of category 'other' without a region, on the
real Kafka) reaches the manual queue and a disposition officer routes it with the agency
picker; an admin edits a routing rule and its new version appears; the calendar and the
dead letters (one on routing's dead-letter topic) are shown; an admin creates a rule, and
finds an agency and changes its contacts; an admin issues an Open311 client key (intake runs
too). axe-core checks every page (no
serious or critical violation); screenshots go to docs/screenshots/backoffice-*.png."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyotp
import pytest

from schemas import staff
from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    Priority,
    serialize_event,
)
from schemas.staff import Role, StaffMember
from schemas.topics import COMPLAINTS_TRIAGED
from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.accounts import SCHEMA
from services.backoffice.entrypoints.staff_cli import add_staff
from services.messaging.database import create_pool
from services.messaging.deadletter import DeadLetter, DeadLetterPublisher
from services.messaging.kafka import make_producer
from tests.e2e.browser import PASSWORD, _browser, _checked, _sign_in, _submit, _wait
from tests.support import ServiceProcess, eventually

pytestmark = pytest.mark.e2e

TOTP_SECRET = pyotp.random_base32()
SECRET = "backoffice-admin-browser-secret"


@pytest.fixture(scope="module")
async def services(
    stack,  # type: ignore[no-untyped-def]
    database_url: str,
    topics: list[str],
    tmp_path_factory: Any,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    await add_staff(database_url, ("tono", "Tono Susanto", ["disposition"], None), PASSWORD)
    await add_staff(database_url, ("admin", "Ani Administrator", ["admin"], None), PASSWORD)
    pool = await create_pool(database_url, SCHEMA, max_size=1)
    await store.set_totp_secret(pool, "admin", TOTP_SECRET)
    await pool.close()
    logs = tmp_path_factory.mktemp("backoffice-admin-logs")
    env = {
        "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "LAPOR_DATABASE_URL": database_url,
        "LAPOR_STAFF_ASSERTION_SECRET": SECRET,
    }
    routing = ServiceProcess("routing", env, logs).start()
    intake = ServiceProcess("intake", env, logs).start()
    await routing.wait_ready()
    await intake.wait_ready()
    backoffice_env = {
        **env,
        "LAPOR_BACKOFFICE_ROUTING_URL": routing.url,
        "LAPOR_BACKOFFICE_INTAKE_URL": intake.url,
    }
    backoffice = ServiceProcess("backoffice", backoffice_env, logs).start()
    await backoffice.wait_ready()
    yield {"routing": routing, "backoffice": backoffice}
    assert backoffice.terminate() == 0, backoffice.log_tail()
    assert intake.terminate() == 0, intake.log_tail()
    assert routing.terminate() == 0, routing.log_tail()


async def publish(stack, topic: str, key: bytes, value: bytes) -> None:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "backoffice-admin-browser")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def an_unmatched_complaint(stack, routing: ServiceProcess) -> str:  # type: ignore[no-untyped-def]
    """A complaint no rule routes, through Kafka into routing's manual queue."""
    complaint_id = uuid.uuid4()
    tracking = f"LPR-{complaint_id.hex[:4].upper()}-MANU-ALQ"
    event = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code=tracking,
            channel=Channel.WEB,
            category=Category.OTHER,
            priority=Priority.NORMAL,
            region_code=None,
            summary="Jadwal pelayanan kantor kecamatan sering berubah tanpa pemberitahuan.",
        ),
    )
    await publish(
        stack, COMPLAINTS_TRIAGED.name, str(complaint_id).encode(), serialize_event(event)
    )
    member = StaffMember("check", frozenset({Role.DISPOSITION}))
    async with httpx.AsyncClient(base_url=routing.url, timeout=30) as client:

        async def queued() -> bool:
            headers = {staff.HEADER: staff.sign(member, SECRET)}
            answer = await client.get("/v1/disposition/cases", headers=headers)
            return tracking in answer.text

        await eventually(queued, within=120)
    return tracking


async def test_a_disposition_officer_routes_an_unmatched_complaint(
    stack,  # type: ignore[no-untyped-def]
    services: dict[str, ServiceProcess],
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    tracking = await an_unmatched_complaint(stack, services["routing"])
    base = services["backoffice"].url

    def walk() -> tuple[str, bool]:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser = _browser()
        try:
            _sign_in(browser, base, "tono", PASSWORD)
            _wait(browser, "areas")
            browser.get(f"{base}/staff/disposisi")
            _wait(browser, "queue")
            _checked(browser, "disposition")
            row = f'tr[data-tracking-code="{tracking}"]'
            for attempt in range(3):  # CI once met the row's node gone from the DOM after axe
                try:
                    picker = browser.find_element(By.CSS_SELECTOR, f"{row} select")
                    Select(picker).select_by_value("KEMENKES")
                    button = browser.find_element(By.CSS_SELECTOR, f"{row} button[type=submit]")
                    break
                except WebDriverException:
                    if attempt == 2:
                        raise
            _submit(browser, button)
            notice = _wait(browser, "done").text
            _checked(browser, "disposition-done")
            queued = browser.find_elements(By.CSS_SELECTOR, f'tr[data-tracking-code="{tracking}"]')
            return notice, bool(queued)
        finally:
            browser.quit()

    notice, still_queued = await asyncio.to_thread(walk)
    assert notice == f"Laporan {tracking} didisposisikan ke Kementerian Kesehatan."
    assert not still_queued
    member = StaffMember("check", frozenset({Role.DISPOSITION}))
    async with httpx.AsyncClient(base_url=services["routing"].url, timeout=30) as client:
        headers = {staff.HEADER: staff.sign(member, SECRET)}
        queue = (await client.get("/v1/disposition/cases", headers=headers)).json()
        assert tracking not in {case["tracking_code"] for case in queue["cases"]}


async def test_an_admin_edits_a_rule_and_a_new_version_appears(
    stack,  # type: ignore[no-untyped-def]
    services: dict[str, ServiceProcess],
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = services["backoffice"].url
    # a letter on routing's dead-letter topic, for the dead letters page
    complaint_id = uuid.uuid4()
    failed = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintAcceptedPayload(
            tracking_code="LPR-DEAD-LETT-ERS",
            channel=Channel.WEB,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="32.73",
            summary="Rumah Ibu Siti di Jl. Melati digusur",
        ),
    )
    poison = DeadLetter(
        COMPLAINTS_TRIAGED.name, 0, 12, None, serialize_event(failed), "handler error: timeout"
    )
    producer = make_producer(stack.kafka_bootstrap, "backoffice-admin-browser-dlq")
    await producer.start()
    try:
        await DeadLetterPublisher(producer, "routing").publish([poison])
    finally:
        await producer.stop()

    def walk() -> tuple[str, list[str], list[str]]:
        from selenium.webdriver.common.by import By

        browser = _browser()
        try:
            _sign_in(browser, base, "admin", PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
            _wait(browser, "areas")
            browser.get(f"{base}/staff/admin/aturan")
            table = _wait(browser, "rules")
            _checked(browser, "rules")
            first = table.find_element(By.CSS_SELECTOR, "tbody tr")
            rule_id = first.get_attribute("data-rule-id")
            first.find_element(By.TAG_NAME, "a").click()
            _wait(browser, "rule-form")
            before = _versions(browser)
            description = browser.find_element(By.ID, "description")
            description.clear()
            description.send_keys("Diubah oleh admin di peramban")
            _submit(
                browser, browser.find_element(By.CSS_SELECTOR, "#rule-form button[type=submit]")
            )
            _wait(browser, "done")
            _checked(browser, "rule")
            after = _versions(browser)
            browser.get(f"{base}/staff/admin/kalender")
            _wait(browser, "add-day")
            _checked(browser, "calendar")

            def letters() -> Any:
                browser.get(f"{base}/staff/admin/pesan-gagal/routing")
                return browser.find_elements(By.CSS_SELECTOR, "#letters tbody tr")

            rows = _until(letters)
            _checked(browser, "dead-letters")
            rows[0].find_element(By.LINK_TEXT, "Lihat").click()
            payload = _wait(browser, "payload").text
            assert "LPR-DEAD-LETT-ERS" in payload and "Siti" not in payload, payload
            _checked(browser, "dead-letter")
            browser.get(f"{base}/staff/admin/open311")
            form = _wait(browser, "add-client")
            form.find_element(By.ID, "client-name").send_keys("Aplikasi Warga Bandung")
            _submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
            assert _wait(browser, "api-key").text.startswith("o311_")
            _checked(browser, "open311")
            return str(rule_id), before, after
        finally:
            browser.quit()

    rule_id, before, after = await asyncio.to_thread(walk)
    assert after[1:] == before and int(after[0]) == int(before[0]) + 1, (rule_id, after)
    member = StaffMember("check", frozenset({Role.ADMIN}))
    async with httpx.AsyncClient(base_url=services["routing"].url, timeout=30) as client:
        headers = {staff.HEADER: staff.sign(member, SECRET)}
        versions = (await client.get(f"/v1/rules/{rule_id}/versions", headers=headers)).json()
    assert versions[-1]["description"] == "Diubah oleh admin di peramban"
    assert versions[-1]["changed_by"] == "admin"


async def test_an_admin_creates_a_rule_and_it_appears(
    services: dict[str, ServiceProcess],
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = services["backoffice"].url

    def walk() -> tuple[str, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser = _browser()
        try:
            _sign_in(browser, base, "admin", PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
            _wait(browser, "areas")
            browser.get(f"{base}/staff/admin/aturan")
            _wait(browser, "new-rule-form")
            browser.find_element(By.ID, "rule_id").send_keys("kesehatan-kota-bandung")
            Select(browser.find_element(By.ID, "category")).select_by_value("health")
            browser.find_element(By.ID, "region_prefix").send_keys("32.73")
            Select(browser.find_element(By.ID, "agency_code")).select_by_value("KEMENKES")
            precedence = browser.find_element(By.ID, "precedence")
            precedence.clear()
            precedence.send_keys("30")
            browser.find_element(By.ID, "description").send_keys("Kesehatan di Kota Bandung")
            _submit(
                browser,
                browser.find_element(By.CSS_SELECTOR, "#new-rule-form button[type=submit]"),
            )
            notice = _wait(browser, "done").text
            row = browser.find_element(By.CSS_SELECTOR, 'tr[data-rule-id="kesehatan-kota-bandung"]')
            _checked(browser, "rule-created")
            return notice, row.text
        finally:
            browser.quit()

    notice, row = await asyncio.to_thread(walk)
    assert notice == "Aturan kesehatan-kota-bandung dibuat (versi 1)."
    assert "Kesehatan di Kota Bandung" in row and "32.73" in row and "KEMENKES" in row
    member = StaffMember("check", frozenset({Role.ADMIN}))
    async with httpx.AsyncClient(base_url=services["routing"].url, timeout=30) as client:
        headers = {staff.HEADER: staff.sign(member, SECRET)}
        rules = (await client.get("/v1/rules", headers=headers)).json()
    (rule,) = [r for r in rules if r["rule_id"] == "kesehatan-kota-bandung"]
    assert (rule["category"], rule["agency_code"], rule["version"]) == ("health", "KEMENKES", 1)
    assert rule["updated_by"] == "admin"


async def test_an_admin_finds_an_agency_and_changes_its_contacts(
    services: dict[str, ServiceProcess],
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = services["backoffice"].url

    def walk() -> tuple[list[str], str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser = _browser()
        try:
            _sign_in(browser, base, "admin", PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
            _wait(browser, "areas")
            browser.get(f"{base}/staff/admin/instansi")
            _wait(browser, "agencies")
            browser.find_element(By.ID, "q").send_keys("kementerian kesehatan")
            Select(browser.find_element(By.ID, "tingkat")).select_by_value("national")
            _submit(
                browser,
                browser.find_element(By.CSS_SELECTOR, "#agency-filters button[type=submit]"),
            )
            rows = _wait(browser, "agencies").find_elements(By.CSS_SELECTOR, "tbody tr")
            codes = [row.get_attribute("data-agency-code") for row in rows]
            _checked(browser, "agencies")
            browser.find_element(By.LINK_TEXT, "KEMENKES").click()
            _wait(browser, "agency-form")
            for field, value in (
                ("contact_phone", "1500-567"),
                ("supervisor_email", "itjen@kemkes.go.id"),
                ("response_working_days", "7"),
            ):
                element = browser.find_element(By.ID, field)
                element.clear()
                element.send_keys(value)
            _submit(
                browser, browser.find_element(By.CSS_SELECTOR, "#agency-form button[type=submit]")
            )
            notice = _wait(browser, "done").text
            _checked(browser, "agency")
            return codes, notice
        finally:
            browser.quit()

    codes, notice = await asyncio.to_thread(walk)
    assert codes == ["KEMENKES"]
    assert notice == "Perubahan disimpan; berlaku untuk kasus baru."
    member = StaffMember("check", frozenset({Role.ADMIN}))
    async with httpx.AsyncClient(base_url=services["routing"].url, timeout=30) as client:
        headers = {staff.HEADER: staff.sign(member, SECRET)}
        agency = (await client.get("/v1/agencies/KEMENKES", headers=headers)).json()
    assert (agency["contact_phone"], agency["supervisor_email"]) == (
        "1500-567",
        "itjen@kemkes.go.id",
    )
    assert agency["response_working_days"] == 7


def _versions(browser: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr")
    return [row.get_attribute("data-version") for row in rows]


def _until(find: Any, within: float = 60.0) -> Any:
    """`find()` until it returns something (the dead-letter topic is read from the start)."""
    import time

    deadline = time.monotonic() + within
    while not (found := find()):
        assert time.monotonic() < deadline, "nothing appeared"
        time.sleep(1)
    return found
