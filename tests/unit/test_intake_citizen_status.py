"""The status in a citizen's words: every status in both languages, times in WIB, the
deadline as a date when routing gave one and as the service standard when not, and what a
secret report's public view leaves out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.events import Language
from services.intake.domain.citizen_status import (
    LABELS,
    NEXT_STEPS,
    citizen_view,
    deadline,
    entry_note,
    format_wib,
    label,
    language_of,
    next_step,
    status_reply,
)
from services.intake.domain.complaints import CASE_STATUSES

ID, EN = Language.INDONESIAN, Language.ENGLISH
INTAKE = Path(__file__).resolve().parents[2] / "services" / "intake"
T0 = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)  # 09.30 WIB


def read_model_statuses() -> tuple[set[str], set[str]]:
    """Every status intake's read model can hold, read from the code that writes them:
    (current statuses, timeline-only statuses of rank -1)."""
    source = (INTAKE / "domain" / "complaints.py").read_text()
    changes = re.findall(r'StatusChange\(\s*"([a-z_]+)",\s*(-?\d+)', source)
    assert len(changes) >= 8, "the status changes moved: update this test's reading"
    current = {status for status, rank in changes if int(rank) >= 0}
    timeline_only = {status for status, rank in changes if int(rank) < 0}
    current |= {status for status, _ in CASE_STATUSES.values()}
    schema = "".join(path.read_text() for path in (INTAKE / "migrations").glob("*.sql"))
    current |= set(re.findall(r"status\s+text NOT NULL DEFAULT '([a-z_]+)'", schema))
    assert "received" in current
    return current, timeline_only


def test_every_status_the_read_model_holds_has_words_in_both_languages() -> None:
    current, timeline_only = read_model_statuses()
    assert timeline_only == {"deadline_approaching", "overdue", "notified"}
    for status in current | timeline_only:
        assert status in LABELS, status
        words = {language: label(status, language) for language in (ID, EN)}
        assert all(words.values()) and words[ID] != words[EN], status
        assert "_" not in words[ID] + words[EN], status
    for status in current:
        assert status in NEXT_STEPS, status
        assert next_step(status, ID) and next_step(status, EN), status
        assert next_step(status, ID) != next_step(status, EN), status


def test_the_issue_s_examples_read_as_words() -> None:
    assert label("forwarded_to_agency", ID) == "Diteruskan ke instansi"
    assert label("forwarded_to_agency", EN) == "Forwarded to the agency"
    assert label("verified", ID) == "Terverifikasi, sedang dianalisis"
    assert label("a_status_from_the_future", EN) == "A status from the future"


def test_times_are_shown_in_wib_in_each_language_s_style() -> None:
    assert format_wib(T0, ID) == "7 Des 2026 09.30 WIB"
    assert format_wib(T0, EN) == "7 Dec 2026 09:30 WIB"
    # 17:30 UTC on New Year's Eve is already next year in Jakarta.
    assert format_wib(datetime(2026, 12, 31, 17, 30, tzinfo=UTC), ID) == "1 Jan 2027 00.30 WIB"
    assert format_wib(datetime(2026, 8, 17, 1, 5, tzinfo=UTC), ID) == "17 Agu 2026 08.05 WIB"
    assert format_wib(T0, EN, with_time=False) == "7 Dec 2026"


def test_the_agency_s_deadline_is_its_date_when_routing_gave_one() -> None:
    due = T0 + timedelta(days=7)
    found = deadline("forwarded_to_agency", ID, received_at=T0, response_due_at=due)
    assert found is not None and found.at == due
    assert found.text == "paling lambat 14 Des 2026 09.30 WIB"
    english = deadline("in_progress", EN, received_at=T0, response_due_at=due)
    assert english is not None and english.text == "by 14 Dec 2026 09:30 WIB"


def test_without_a_date_the_deadline_is_the_service_standard_never_an_invented_date() -> None:
    for status in ("received", "under_review", "verified"):
        found = deadline(status, ID, received_at=T0)
        assert found is not None and found.at is None
        assert found.text == "paling lambat 14 hari kerja sejak laporan diterima (7 Des 2026)"
    english = deadline("verified", EN, received_at=T0)
    assert english is not None and english.text == "within 14 working days of receipt (7 Dec 2026)"
    agency = deadline("forwarded_to_agency", ID, received_at=T0)
    assert agency is not None and agency.at is None and "5 hari kerja" in agency.text


def test_documents_are_due_at_the_end_of_the_tenth_day_after_the_request() -> None:
    from services.routing.domain import documents_due

    # The date is routing's (CaseStatusChanged.documents_due_at), not recomputed here.
    asked = documents_due(T0)
    found = deadline("awaiting_documents", ID, received_at=T0, documents_due_at=asked)
    assert found is not None and found.text.startswith("paling lambat 17 Des 2026 23.59 WIB")
    assert found.at == asked
    unknown = deadline("awaiting_documents", EN, received_at=T0)
    assert unknown is not None and unknown.at is None and "10 days" in unknown.text


@pytest.mark.parametrize(
    "status", ["closed", "rejected", "duplicate", "first_response_received", "being_rerouted"]
)
def test_nothing_is_due_when_nothing_is_awaited(status: str) -> None:
    assert deadline(status, ID, received_at=T0, response_due_at=T0) is None


def test_only_the_agency_s_words_and_a_joined_report_are_notes_for_the_citizen() -> None:
    assert entry_note("CaseStatusChanged", "Tim BPN akan mengukur ulang.") == (
        "Tim BPN akan mengukur ulang."
    )
    assert entry_note("CaseAssigned", "Kementerian ATR/BPN") == "Kementerian ATR/BPN"
    assert entry_note("ComplaintDuplicateDetected", "joined report LPR-AAAA") == "LPR-AAAA"
    for event_type, detail in [
        ("ComplaintAccepted", "category: land"),
        ("ComplaintNeedsReview", "being checked by the back office"),
        ("CitizenNotified", "status"),
        ("CaseOverdue", "escalated to supervisor"),
    ]:
        assert entry_note(event_type, detail) is None


def stored_view(*, secret: bool) -> dict[str, object]:
    """What adapters.views.status_view returns for a case with an agency note."""
    note = "Tim BPN akan mengukur ulang tanah Anda."
    return {
        "tracking_code": "LPR-AAAA-BBBB-CCC",
        "channel": "web",
        "status": "in_progress",
        "status_detail": note,
        "agency_name": "Kementerian ATR/BPN",
        "received_at": T0,
        "updated_at": T0 + timedelta(hours=2),
        "response_due_at": T0 + timedelta(days=7),
        "secret": secret,
        "reporter_language": "en",
        "timeline": [
            {"event_type": "ComplaintReceived", "status": "received", "detail": None,
             "occurred_at": T0},
            {"event_type": "CaseAssigned", "status": "forwarded_to_agency",
             "detail": "Kementerian ATR/BPN", "occurred_at": T0 + timedelta(hours=1)},
            {"event_type": "CaseStatusChanged", "status": "in_progress", "detail": note,
             "occurred_at": T0 + timedelta(hours=2)},
        ],
    }  # fmt: skip


def test_the_view_carries_words_wib_times_the_agency_and_by_when() -> None:
    shown = citizen_view(stored_view(secret=False), ID)
    assert shown["status"] == "in_progress"  # the stable code stays for programs
    assert shown["status_label"] == "Sedang ditindaklanjuti instansi"
    assert shown["agency_name"] == "Kementerian ATR/BPN"
    assert shown["due_by"] == "paling lambat 14 Des 2026 09.30 WIB"
    assert shown["updated_at_wib"] == "7 Des 2026 11.30 WIB"
    assert shown["language"] == "id" and shown["next_step"]
    entries = shown["timeline"]
    assert [entry["status_label"] for entry in entries] == [
        "Diterima",
        "Diteruskan ke instansi",
        "Sedang ditindaklanjuti instansi",
    ]
    assert entries[2]["note"] == "Tim BPN akan mengukur ulang tanah Anda."
    assert entries[0]["occurred_at_wib"] == "7 Des 2026 09.30 WIB"


def test_a_secret_report_s_public_view_keeps_only_its_status_and_steps() -> None:
    shown = citizen_view(stored_view(secret=True), EN)
    assert shown["secret"] is True and shown["status_label"] == "Being handled by the agency"
    assert shown["status_detail"] is None and shown["agency_name"] is None
    assert [entry["status_label"] for entry in shown["timeline"]] == [
        "Received",
        "Forwarded to the agency",
        "Being handled by the agency",
    ]
    assert all(e["detail"] is None and e["note"] is None for e in shown["timeline"])
    assert "BPN" not in repr({k: v for k, v in shown.items() if k != "tracking_code"})
    # Its owner, after proving it is theirs, still reads the agency's note.
    owner = citizen_view(stored_view(secret=True), EN, public=False)
    assert owner["timeline"][2]["note"] == "Tim BPN akan mengukur ulang tanah Anda."
    assert owner["agency_name"] == "Kementerian ATR/BPN"


def test_the_status_reply_speaks_the_citizen_s_language() -> None:
    indonesian = status_reply(citizen_view(stored_view(secret=False), ID))
    assert indonesian.startswith(
        "Status laporan LPR-AAAA-BBBB-CCC: Sedang ditindaklanjuti instansi (Kementerian ATR/BPN)."
    )
    assert "Diperbarui 7 Des 2026 11.30 WIB" in indonesian
    assert "Langkah berikutnya: Instansi sedang menindaklanjuti" in indonesian
    assert "Batas waktu: paling lambat 14 Des 2026 09.30 WIB." in indonesian
    english = status_reply(citizen_view(stored_view(secret=False), EN))
    assert english.startswith("Status of report LPR-AAAA-BBBB-CCC: Being handled by the agency")
    assert "Due: by 14 Dec 2026 09:30 WIB." in english and "Updated 7 Dec 2026 11:30 WIB" in english
    secret = status_reply(citizen_view(stored_view(secret=True), ID))
    assert "BPN" not in secret and "rahasia" in secret
    assert "Sedang ditindaklanjuti instansi" in secret


def test_a_language_is_english_only_when_it_says_so() -> None:
    assert language_of("en") is EN and language_of(EN) is EN
    assert language_of(None) is ID and language_of("fr") is ID and language_of("id") is ID
