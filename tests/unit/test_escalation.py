"""Escalation reaches people: routing's overdue alert names who it goes to, with their
address and the case's link (level 1: the agency's supervisor, level 2: Setwapres), and the
notifier turns it into one Indonesian email to that address, with no reporter's data in it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from schemas.events import Language, parse_event, serialize_event
from schemas.events.routing import (
    CaseDeadlineApproaching,
    CaseOverdue,
    CaseStatus,
    CaseStatusChanged,
    CaseStatusChangedPayload,
    DeadlineKind,
)
from services.notifier.domain.escalation import (
    STAFF_LANGUAGE,
    STAFF_TEMPLATE,
    staff_email_for,
    staff_trigger_id,
)
from services.notifier.domain.events import notification_id_for
from services.notifier.domain.rules import OutboundChannel, message_for
from services.notifier.domain.templates import render
from services.routing.adapters.repository import Agency
from services.routing.domain import (
    Alert,
    EscalationContacts,
    case_url,
    escalation_for,
)
from services.routing.handlers.deadlines import alert_event

CASE_ID = uuid.UUID("6f1c2a10-0000-4000-8000-000000000001")
COMPLAINT_ID = uuid.UUID("6f1c2a10-0000-4000-8000-000000000002")
# Friday 21 Aug 2026, 23:59 WIB
DUE = datetime(2026, 8, 21, 16, 59, tzinfo=UTC)
NOW = datetime(2026, 8, 22, 2, 0, tzinfo=UTC)
CONTACTS = EscalationContacts(
    public_base_url="https://lapor.example.go.id/routing/",
    setwapres_email="eskalasi@set.wapresri.go.id",
)
ATR = Agency(
    agency_code="ATR-BPN",
    name="Kementerian ATR/BPN",
    level="national",
    region_code=None,
    via_sp4n=True,
    supervisor="Inspektorat Jenderal Kementerian ATR/BPN",
    response_working_days=5,
    supervisor_email="itjen@atrbpn.go.id",
)
CASE = {
    "case_id": CASE_ID,
    "complaint_id": COMPLAINT_ID,
    "correlation_id": COMPLAINT_ID,
    "tracking_code": "LPR-AAAA-BBBB-CCC",
}
DEADLINE = {"kind": "agency_response", "round": 1, "due_at": DUE}
LINK = f"https://lapor.example.go.id/routing/v1/desk/cases/{CASE_ID}"


def overdue(
    alert: Alert, agency: Agency = ATR, contacts: EscalationContacts = CONTACTS
) -> CaseDeadlineApproaching | CaseOverdue:
    escalation = escalation_for(
        alert, agency.name, agency.supervisor, agency.supervisor_email, contacts, CASE_ID
    )
    event_id = uuid.uuid5(CASE_ID, f"agency_response:1:{alert.value}")
    return alert_event(CASE, agency, DEADLINE, escalation, event_id, NOW)


# --------------------------------------------------------------------------- routing


def test_level_one_goes_to_the_agencys_supervisor_with_the_case_link() -> None:
    event = overdue(Alert.OVERDUE_SUPERVISOR)
    assert isinstance(event, CaseOverdue)
    payload = event.payload
    assert (payload.escalation_level, payload.escalated_to) == (
        1,
        "Inspektorat Jenderal Kementerian ATR/BPN",
    )
    assert payload.escalation_email == "itjen@atrbpn.go.id"
    assert payload.case_url == LINK
    # what the notifier reads is what routing wrote
    assert parse_event(serialize_event(event)) == event


def test_level_two_goes_to_setwapres_address_from_the_settings() -> None:
    event = overdue(Alert.OVERDUE_SETWAPRES)
    assert isinstance(event, CaseOverdue)
    assert (event.payload.escalation_level, event.payload.escalated_to) == (
        2,
        "Sekretariat Wakil Presiden",
    )
    assert event.payload.escalation_email == "eskalasi@set.wapresri.go.id"
    assert event.payload.case_url == LINK


def test_without_an_address_the_escalation_is_named_but_emails_nobody() -> None:
    bare = Agency("PEMDA-32.73", "Pemerintah Kota Bandung", "regency", "32.73", True, None, 5)
    level_one = overdue(Alert.OVERDUE_SUPERVISOR, bare, EscalationContacts())
    assert isinstance(level_one, CaseOverdue)
    assert level_one.payload.escalated_to == "Pimpinan Pemerintah Kota Bandung"
    assert level_one.payload.escalation_email is None and level_one.payload.case_url is None
    level_two = overdue(Alert.OVERDUE_SETWAPRES, ATR, EscalationContacts("http://x"))
    assert isinstance(level_two, CaseOverdue) and level_two.payload.escalation_email is None


def test_an_approaching_deadline_escalates_to_nobody() -> None:
    assert escalation_for(Alert.APPROACHING, "X", "Y", "y@x.go.id", CONTACTS, CASE_ID) is None
    assert escalation_for(Alert.DOCUMENTS_EXPIRED, "X", "Y", "y@x.go.id", CONTACTS, CASE_ID) is None
    assert isinstance(overdue(Alert.APPROACHING), CaseDeadlineApproaching)


def test_case_links_join_the_base_url_once() -> None:
    for base in ("https://lapor.example.go.id/routing", "https://lapor.example.go.id/routing/"):
        assert case_url(base, CASE_ID) == LINK
    assert case_url(None, CASE_ID) is None and case_url("", CASE_ID) is None


# --------------------------------------------------------------------------- notifier


def test_the_supervisor_gets_an_indonesian_email_with_everything_to_act_on() -> None:
    event = overdue(Alert.OVERDUE_SUPERVISOR)
    email = staff_email_for(event)
    assert email is not None
    assert (email.to, email.template) == ("itjen@atrbpn.go.id", STAFF_TEMPLATE)
    rendered = render(email.template, STAFF_LANGUAGE, email.context)
    for fact in (
        "Yth. Inspektorat Jenderal Kementerian ATR/BPN",
        "Pengaduan LPR-AAAA-BBBB-CCC yang ditangani Kementerian ATR/BPN",
        "batas waktu tindak lanjut instansi",
        "21 Agustus 2026 pukul 23.59 WIB",  # the due time in WIB, not UTC
        "Tingkat eskalasi: 1",
        f"Berkas pengaduan: {LINK}",
        "dieskalasi ke Sekretariat Wakil Presiden",  # what follows if nothing happens
    ):
        assert fact in rendered.text, fact
    assert rendered.subject == "[Eskalasi 1] Pengaduan LPR-AAAA-BBBB-CCC melewati batas waktu"
    assert "{{" not in rendered.text and "\n\n\n" not in rendered.text
    assert "WIB.\n\nSebagai pengawas" in rendered.text  # paragraphs stay apart


def test_setwapres_gets_the_second_level() -> None:
    email = staff_email_for(overdue(Alert.OVERDUE_SETWAPRES))
    assert email is not None and email.to == "eskalasi@set.wapresri.go.id"
    text = render(email.template, STAFF_LANGUAGE, email.context).text
    assert "Tingkat eskalasi: 2" in text and "belum juga ditindaklanjuti" in text
    english = render(email.template, Language.ENGLISH, email.context)
    assert "2026-08-21 23:59 WIB" in english.text and LINK in english.text
    assert "deadline for the agency's follow-up" in english.text


def test_no_address_no_email_and_no_link_line_without_a_link() -> None:
    bare = Agency("PEMDA-32.73", "Pemerintah Kota Bandung", "regency", "32.73", True, None, 5)
    assert staff_email_for(overdue(Alert.OVERDUE_SUPERVISOR, bare)) is None
    linkless = overdue(Alert.OVERDUE_SUPERVISOR, ATR, EscalationContacts())
    email = staff_email_for(linkless)
    assert email is not None
    assert "Berkas pengaduan" not in render(email.template, STAFF_LANGUAGE, email.context).text


def test_only_an_escalation_emails_staff_and_the_citizen_still_hears() -> None:
    assert staff_email_for(overdue(Alert.APPROACHING)) is None
    changed = CaseStatusChanged(
        complaint_id=COMPLAINT_ID,
        correlation_id=COMPLAINT_ID,
        producer="routing",
        payload=CaseStatusChangedPayload(
            case_id=CASE_ID,
            tracking_code="LPR-AAAA-BBBB-CCC",
            previous_status=CaseStatus.ASSIGNED,
            status=CaseStatus.IN_PROGRESS,
            actor="officer-7",
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
        ),
    )
    assert staff_email_for(changed) is None
    citizen = message_for(overdue(Alert.OVERDUE_SUPERVISOR))
    assert citizen is not None and citizen.template == "escalated"
    assert "itjen@atrbpn.go.id" not in str(citizen.context)  # the citizen never sees it


def test_the_staff_emails_row_is_its_own_and_the_same_on_replay() -> None:
    event = overdue(Alert.OVERDUE_SUPERVISOR)
    replayed = parse_event(serialize_event(event))
    assert staff_trigger_id(event.event_id) == staff_trigger_id(replayed.event_id)
    # never the row of the citizen's own email about the same event
    citizen_row = notification_id_for(event.event_id, OutboundChannel.EMAIL)
    staff_row = notification_id_for(staff_trigger_id(event.event_id), OutboundChannel.EMAIL)
    assert staff_row != citizen_row
    level_two = overdue(Alert.OVERDUE_SETWAPRES)
    assert staff_trigger_id(level_two.event_id) != staff_trigger_id(event.event_id)


@pytest.mark.parametrize("kind", list(DeadlineKind))
def test_every_deadline_kind_has_a_name_for_staff(kind: DeadlineKind) -> None:
    event = overdue(Alert.OVERDUE_SUPERVISOR)
    assert isinstance(event, CaseOverdue)
    changed = event.model_copy(
        update={"payload": event.payload.model_copy(update={"deadline_kind": kind})}
    )
    email = staff_email_for(changed)
    assert email is not None and email.context["deadline_name"]
    assert email.context["deadline_name_en"]
