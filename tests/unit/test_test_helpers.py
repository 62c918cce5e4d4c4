"""The tests' own helpers have one copy each: the browser (Chromium, axe-core, screenshots)
in tests/e2e/browser.py, routing's officers' bearer header in tests/agency_cases.py. A test
module that starts its own copy fails here: import the shared one instead."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ONE_COPY = {
    r"webdriver\.Chrome\(": "e2e/browser.py",
    r"\bAxe\(": "e2e/browser.py",
    r"def auth\(officer_id": "agency_cases.py",
    r"await repository\.create_officer\(conn, officer_id": "agency_cases.py",
}


def test_each_shared_test_helper_is_defined_once() -> None:
    sources = {
        str(path.relative_to(TESTS)): path.read_text()
        for path in TESTS.rglob("*.py")
        if path.name != Path(__file__).name
    }
    for pattern, home in ONE_COPY.items():
        where = sorted(name for name, text in sources.items() if re.search(pattern, text))
        assert where == [home], (pattern, where)
