"""The back office in a real headless Chromium, as a running process: a member signs in,
sees the home page of their roles, an admin signs in with a one-time code and opens the
accounts page, repeated wrong passwords are refused, signing out ends the session, a form
posted without its CSRF token is refused, and an expired session sends the member back to
sign in. Each
page is checked with axe-core (no serious or critical violation) and saved as a screenshot
in docs/screenshots/backoffice-*.png for docs/backoffice.md."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pyotp
import pytest

from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.accounts import SCHEMA
from services.backoffice.domain.signin import token_hash
from services.backoffice.entrypoints.access import SESSION_COOKIE
from services.backoffice.entrypoints.staff_cli import add_staff
from services.messaging.database import create_pool

# The helpers live in tests/e2e/browser.py; re-exported here for one session, for browser
# tests written against this module (import them from tests.e2e.browser).
from tests.e2e.browser import (  # noqa: F401
    CHROMEDRIVER,
    CHROMIUM,
    PASSWORD,
    SCREENSHOTS,
    _browser,
    _checked,
    _sign_in,
    _submit,
    _wait,
)
from tests.support import ServiceProcess

pytestmark = pytest.mark.e2e

TOTP_SECRET = pyotp.random_base32()


@pytest.fixture(scope="module")
async def backoffice(database_url: str, tmp_path_factory: Any) -> AsyncIterator[ServiceProcess]:
    await add_staff(
        database_url,
        ("sari", "Sari Wulandari", ["agency_officer", "reviewer"], "KEMENPU"),
        PASSWORD,
    )
    await add_staff(database_url, ("admin", "Ani Administrator", ["admin"], None), PASSWORD)
    await add_staff(database_url, ("tono", "Tono Susanto", ["disposition"], None), PASSWORD)
    pool = await create_pool(database_url, SCHEMA, max_size=1)
    await store.set_totp_secret(pool, "admin", TOTP_SECRET)
    await pool.close()
    env = {"LAPOR_DATABASE_URL": database_url}
    service = ServiceProcess("backoffice", env, tmp_path_factory.mktemp("backoffice-logs"))
    service.start()
    await service.wait_ready()
    yield service
    assert service.terminate() == 0, service.log_tail()


async def test_a_member_signs_in_sees_their_areas_and_signs_out(
    backoffice: ServiceProcess,
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = backoffice.url

    def walk() -> tuple[list[str], str, str]:
        from selenium.webdriver.common.by import By

        browser = _browser()
        try:
            browser.get(f"{base}/staff")  # no session: the sign-in page, coming back after
            _wait(browser, "staff_id")
            assert "/staff/masuk?next=/staff" in browser.current_url
            _checked(browser, "signin")
            _sign_in(browser, base, "sari", PASSWORD)
            areas = _wait(browser, "areas")
            shown = [li.get_attribute("data-area") for li in areas.find_elements(By.TAG_NAME, "li")]
            _checked(browser, "home")
            browser.get(f"{base}/staff/totp")
            _wait(browser, "totp-secret")
            _checked(browser, "totp")
            browser.get(f"{base}/staff/admin/akun")  # not an admin: no such page
            not_found = _wait(browser, "message").text
            browser.get(f"{base}/staff")
            _wait(browser, "sign-out").click()
            _wait(browser, "staff_id")
            browser.get(f"{base}/staff")
            _wait(browser, "staff_id")
            return shown, not_found, browser.current_url
        finally:
            browser.quit()

    shown, not_found, after = await asyncio.to_thread(walk)
    assert shown == ["review", "agency_inbox"]
    assert not_found == "Halaman ini tidak ada."
    assert "/staff/masuk" in after  # signed out: back to the sign-in page


async def test_an_admin_signs_in_with_a_code_and_sees_the_accounts(
    backoffice: ServiceProcess,
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = backoffice.url

    def walk() -> list[str]:
        from selenium.webdriver.common.by import By

        browser = _browser()
        try:
            _sign_in(browser, base, "admin", PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
            _wait(browser, "areas")
            browser.get(f"{base}/staff/admin/akun")
            table = _wait(browser, "accounts")
            rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
            ids = [row.get_attribute("data-staff-id") for row in rows]
            _checked(browser, "accounts")
            browser.get(f"{base}/staff/admin/akun?lang=en")
            _wait(browser, "accounts")
            _checked(browser, "accounts-en")
            return ids
        finally:
            browser.quit()

    assert await asyncio.to_thread(walk) == ["admin", "sari", "tono"]


# Before the wrong passwords below: their failures lock this browser's address for a while.
async def test_a_form_posted_without_its_csrf_token_is_refused(backoffice: ServiceProcess) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = backoffice.url

    def walk() -> tuple[str, str, int, list[str]]:
        from selenium.webdriver.common.by import By

        browser = _browser()
        try:
            _sign_in(browser, base, "sari", PASSWORD)
            _wait(browser, "areas")
            removed = browser.execute_script(
                "const found = document.querySelectorAll('input[name=csrf_token]');"
                "found.forEach((input) => input.remove()); return found.length;"
            )
            _wait(browser, "sign-out").click()  # the sign-out form, now without its token
            refused = _wait(browser, "message").text
            heading = browser.find_element(By.TAG_NAME, "h1").text
            _checked(browser, "refused")
            browser.get(f"{base}/staff")  # not signed out: the refused form did nothing
            areas = _wait(browser, "areas")
            shown = [li.get_attribute("data-area") for li in areas.find_elements(By.TAG_NAME, "li")]
            return heading, refused, removed, shown
        finally:
            browser.quit()

    heading, refused, removed, shown = await asyncio.to_thread(walk)
    assert removed >= 1
    assert heading == "Formulir ditolak"
    assert refused.startswith("Formulir ini")  # the 403 page's own words, not a sign-in page
    assert shown == ["review", "agency_inbox"]


async def test_an_expired_session_sends_the_member_back_to_sign_in(
    backoffice: ServiceProcess, database_url: str
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = backoffice.url
    browser = await asyncio.to_thread(_browser)
    try:

        def sign_in() -> str:
            _sign_in(browser, base, "sari", PASSWORD)
            _wait(browser, "areas")
            return str(browser.get_cookie(SESSION_COOKIE)["value"])

        token = await asyncio.to_thread(sign_in)
        connection = await asyncpg.connect(database_url)
        try:
            expired = await connection.execute(
                f"UPDATE {SCHEMA}.staff_sessions SET last_seen = now() - interval '31 minutes'"
                " WHERE token_hash = $1",
                token_hash(token),
            )
        finally:
            await connection.close()
        assert expired == "UPDATE 1"

        def come_back() -> tuple[str, str]:
            browser.get(f"{base}/staff/instansi/kasus")
            notice = _wait(browser, "notice").text
            _checked(browser, "expired")
            return browser.current_url, notice

        url, notice = await asyncio.to_thread(come_back)
    finally:
        await asyncio.to_thread(browser.quit)
    assert url.startswith(f"{base}/staff/masuk?next=/staff/instansi/kasus")
    assert "expired=1" in url
    assert notice == "Sesi Anda berakhir. Silakan masuk lagi."


async def test_repeated_wrong_passwords_are_refused_with_a_clear_message(
    backoffice: ServiceProcess,
) -> None:
    pytest.importorskip("axe_selenium_python", reason="pip install axe-selenium-python")
    base = backoffice.url

    def walk() -> tuple[str, str]:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        browser = _browser()
        try:
            _sign_in(browser, base, "tono", "salah-salah-salah")
            wrong = _wait(browser, "sign-in-error").text
            for _ in range(4):
                _sign_in(browser, base, "tono", "salah-salah-salah")
                _wait(browser, "sign-in-error")
            _sign_in(browser, base, "tono", PASSWORD)
            # The click does not wait for the answer: wait for the refusal's own words.
            WebDriverWait(browser, 60).until(
                expected_conditions.text_to_be_present_in_element(
                    (By.ID, "sign-in-error"), "Terlalu banyak"
                )
            )
            locked = browser.find_element(By.ID, "sign-in-error").text
            _checked(browser, "locked")
            return wrong, locked
        finally:
            browser.quit()

    wrong, locked = await asyncio.to_thread(walk)
    assert wrong == "ID, kata sandi atau kode salah."
    assert locked.startswith("Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam")
