"""The browser tests' helpers, one copy: Debian's headless Chromium through Selenium, axe-core
on a page (no serious or critical violation) with its screenshot into docs/screenshots, and
the back office's sign-in, submit and wait steps. Every page test (back office, intake)
imports them from here."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "kata-sandi-yang-panjang"


def _browser(*, javascript: bool = True) -> Any:
    """A headless Chromium. The pages have no JavaScript of their own: it is on only for
    axe-core; `javascript=False` proves a page works without it."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "Debian's chromium is not installed: apt-get install -y chromium chromium-driver"
            " (scripts/install-browser.sh)"
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
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _checked(browser: Any, name: str, *, site: str = "backoffice") -> None:
    """axe-core on the page (fail on serious or critical), then its screenshot,
    docs/screenshots/<site>-<name>.png."""
    from axe_selenium_python import Axe

    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {axe.report(bad)}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")  # axe may leave the page scrolled
    browser.save_screenshot(str(SCREENSHOTS / f"{site}-{name}.png"))


def _sign_in(browser: Any, base: str, staff_id: str, password: str, code: str = "") -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/staff/masuk")
    browser.find_element(By.ID, "staff_id").send_keys(staff_id)
    browser.find_element(By.ID, "password").send_keys(password)
    if code:
        browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()


def _submit(browser: Any, button: Any) -> None:
    """Click `button` and wait until the browser has left the page: the next page's elements
    may share ids with this one's (a notice, a form), and a slow server would otherwise let a
    wait find the old page's element, which then goes stale."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(browser, 60).until(expected_conditions.staleness_of(page))


def _wait(browser: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.ID, element_id))
    )
