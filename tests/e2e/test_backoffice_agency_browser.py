"""The agency pages in a real headless Chromium (issue 15): routing and the back office run as
their own processes with the same staff assertion secret (the development default); cases
with a whole case file are put into routing's database through its handlers
(tests/agency_cases.py). An agency officer opens a case file from the inbox, writes its
public summary, requests documents, then starts, responds and closes it; an officer of
another agency typing the case's URL gets the 404 page; the supervisor reassigns an overdue
case. axe-core checks each page (no serious or critical violation); the screenshots go to
docs/screenshots/backoffice-inbox.png, -case.png and -supervisor.png."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.backoffice.entrypoints.staff_cli import add_staff
from services.messaging.database import create_pool
from services.personal_data.keystore import default_keystore
from services.routing.domain import JAKARTA
from tests.agency_cases import DESCRIPTION, Case, a_case_file
from tests.e2e.browser import PASSWORD, _browser, _checked, _sign_in, _submit, _wait
from tests.support import ServiceProcess

pytestmark = pytest.mark.e2e


class Desk:
    def __init__(self, url: str, fresh: Case, late: Case) -> None:
        self.url = url
        self.fresh = fresh
        self.late = late


@pytest.fixture(scope="module")
async def desk(stack, database_url, topics, tmp_path_factory) -> AsyncIterator[Desk]:  # type: ignore[no-untyped-def]
    logs = tmp_path_factory.mktemp("agency-logs")
    env = {"LAPOR_DATABASE_URL": database_url, "LAPOR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap}
    routing = ServiceProcess("routing", env, logs).start()
    backoffice: ServiceProcess | None = None
    try:
        await routing.wait_ready()  # its schema and migrations exist from here on
        pool = await create_pool(database_url, "routing", max_size=1)
        now = datetime.now(JAKARTA)
        async with pool.acquire() as conn:
            fresh = await a_case_file(conn, default_keystore(), now - timedelta(hours=2))
            late = await a_case_file(conn, default_keystore(), now - timedelta(days=60))
        await pool.close()
        agency = fresh.agency_code
        for fields in (
            ("sari", "Sari Wulandari", ["agency_officer"], agency),
            ("rudi", "Rudi Hartono", ["agency_officer"], agency),
            ("kepala", "Kartika Kepala", ["agency_supervisor"], agency),
            ("lain", "Lina Lain", ["agency_officer"], "KEMENKES"),
        ):
            await add_staff(database_url, fields, PASSWORD)
        backoffice_env = {**env, "LAPOR_BACKOFFICE_ROUTING_URL": routing.url}
        backoffice = ServiceProcess("backoffice", backoffice_env, logs).start()
        await backoffice.wait_ready()
        yield Desk(backoffice.url, fresh, late)
    finally:
        if backoffice is not None:
            assert backoffice.terminate() == 0, backoffice.log_tail()
        assert routing.terminate() == 0, routing.log_tail()


def _act(browser: Any, action: str, text: str | None = None) -> str:
    """Fill one action's form on the case page, tick "Saya yakin", send; the notice."""
    from selenium.webdriver.common.by import By

    form = browser.find_element(By.ID, f"action-{action}")
    if text is not None:
        form.find_element(By.TAG_NAME, "textarea").send_keys(text)
    form.find_element(By.NAME, f"confirm-{action}").click()
    # The page before still shows the last action's notice: wait for the new page first.
    _submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    return _wait(browser, "done").text


async def test_an_officer_works_a_case_from_the_inbox_to_closing(desk: Desk) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")

    def walk() -> tuple[str, list[str], str]:
        from selenium.webdriver.common.by import By

        browser = _browser()
        try:
            _sign_in(browser, desk.url, "sari", PASSWORD)
            _wait(browser, "areas")
            browser.get(f"{desk.url}/staff/instansi/kasus")
            table = _wait(browser, "cases")
            _checked(browser, "inbox")
            table.find_element(By.LINK_TEXT, desk.fresh.tracking_code).click()
            description = _wait(browser, "description").text
            _checked(browser, "case")
            summary = browser.find_element(By.ID, "public-summary")
            summary.find_element(By.TAG_NAME, "textarea").send_keys(
                "Sertifikat warga sedang diperiksa kantor pertanahan."
            )
            _submit(browser, summary.find_element(By.CSS_SELECTOR, "button[type=submit]"))
            notices = [_wait(browser, "done").text]
            notices.append(_act(browser, "request-documents", "Mohon kirim fotokopi sertifikat."))
            notices.append(_act(browser, "accept"))
            notices.append(_act(browser, "respond", "Sertifikat sudah terbit, silakan ambil."))
            notices.append(_act(browser, "close"))
            status = browser.find_element(By.ID, "case-status").get_attribute("data-status")
            return description, notices, status
        finally:
            browser.quit()

    description, notices, status = await asyncio.to_thread(walk)
    assert description == DESCRIPTION
    assert notices == [
        "Ringkasan publik disimpan.",
        "Permintaan dokumen dikirim.",
        "Kasus sedang ditangani.",
        "Tanggapan dikirim.",
        "Kasus ditutup.",
    ]
    assert status == "closed"


async def test_another_agencys_officer_typing_the_url_gets_the_404_page(desk: Desk) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")

    def walk() -> tuple[str, str]:
        browser = _browser()
        try:
            _sign_in(browser, desk.url, "lain", PASSWORD)
            _wait(browser, "areas")
            browser.get(f"{desk.url}/staff/instansi/kasus/{desk.late.case_id}")
            message = _wait(browser, "message").text
            _checked(browser, "case-not-found")
            return message, browser.page_source
        finally:
            browser.quit()

    message, source = await asyncio.to_thread(walk)
    assert message == "Halaman ini tidak ada."
    assert DESCRIPTION not in source and desk.late.tracking_code not in source


async def test_the_supervisor_reassigns_an_overdue_case(desk: Desk) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")

    def walk() -> tuple[str, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        browser = _browser()
        try:
            _sign_in(browser, desk.url, "kepala", PASSWORD)
            _wait(browser, "areas")
            browser.get(f"{desk.url}/staff/instansi/pengawasan")
            _wait(browser, "overdue-cases")
            _checked(browser, "supervisor")
            form = browser.find_element(By.ID, f"reassign-{desk.late.case_id}")
            Select(form.find_element(By.NAME, "officer_id")).select_by_value("rudi")
            form.find_element(By.NAME, "note").send_keys("Sari sedang cuti")
            form.find_element(By.NAME, f"confirm-{desk.late.case_id}").click()
            _submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
            notice = _wait(browser, "done").text
            browser.get(f"{desk.url}/staff/instansi/kasus/{desk.late.case_id}")
            return notice, _wait(browser, "assigned-officer").text
        finally:
            browser.quit()

    notice, assigned = await asyncio.to_thread(walk)
    assert notice == "Kasus dialihkan."
    assert assigned == "rudi"
