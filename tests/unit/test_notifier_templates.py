"""Every citizen-facing event renders in Bahasa Indonesia and English, and outside WhatsApp's
24-hour window maps onto a named template message with its parameters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import (
    CaseAssigned,
    CaseAssignedPayload,
    Channel,
    ComplaintDuplicateDetected,
    ComplaintDuplicateDetectedPayload,
    ComplaintNeedsReview,
    ComplaintNeedsReviewPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    ComplaintRejected,
    ComplaintRejectedPayload,
    Event,
    Language,
    ReasonCode,
    Reporter,
)
from schemas.events.routing import (
    CaseDeadlineApproaching,
    CaseDeadlineApproachingPayload,
    CaseOverdue,
    CaseOverduePayload,
    CaseReporterJoined,
    CaseReporterJoinedPayload,
    CaseStatus,
    CaseStatusChanged,
    CaseStatusChangedPayload,
    DeadlineKind,
)
from services.notifier.domain.escalation import STAFF_TEMPLATE
from services.notifier.domain.rules import REPLY, TEMPLATE_KEYS, fallback_message, message_for
from services.notifier.domain.templates import catalog, render, render_reply, whatsapp_template

CODE = "LPR-AAAA-BBBB-CCC"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DUE = NOW + timedelta(days=14)


def envelope() -> dict[str, object]:
    complaint_id = uuid.uuid4()
    return {"complaint_id": complaint_id, "correlation_id": complaint_id, "producer": "test"}


def status(new: CaseStatus, note: str | None = "Sertifikat sedang diukur ulang.") -> Event:
    return CaseStatusChanged(
        **envelope(),
        payload=CaseStatusChangedPayload(
            case_id=uuid.uuid4(),
            tracking_code=CODE,
            previous_status=CaseStatus.ASSIGNED,
            status=new,
            actor="officer-7",
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
            note=note,
        ),
    )


def citizen_events() -> dict[str, Event]:
    """One event per template, as the producers publish them."""
    return {
        "received": ComplaintReceived(
            **envelope(),
            payload=ComplaintReceivedPayload(
                tracking_code=CODE,
                # A WhatsApp complaint's receipt is the conversation's reply, not this template.
                channel=Channel.WEB,
                reporter=Reporter(name="Siti", phone="+6281234567890"),
                description="Sertifikat tanah tidak terbit",
                received_at=NOW,
            ),
        ),
        "rejected": ComplaintRejected(
            **envelope(),
            payload=ComplaintRejectedPayload(
                tracking_code=CODE,
                reasons=(
                    ReasonCode(code="nik_missing", detail="x"),
                    ReasonCode(code="in_court", detail="y"),
                ),
            ),
        ),
        "under_review": ComplaintNeedsReview(
            **envelope(),
            payload=ComplaintNeedsReviewPayload(
                tracking_code=CODE, reasons=(ReasonCode(code="prank_phrase", detail="z"),)
            ),
        ),
        "duplicate": ComplaintDuplicateDetected(
            **envelope(),
            payload=ComplaintDuplicateDetectedPayload(
                tracking_code=CODE,
                original_complaint_id=uuid.uuid4(),
                original_tracking_code="LPR-ZZZZ-YYYY-XXX",
                similarity=0.93,
            ),
        ),
        "joined": CaseReporterJoined(
            **envelope(),
            payload=CaseReporterJoinedPayload(
                case_id=uuid.uuid4(),
                tracking_code=CODE,
                original_tracking_code="LPR-ZZZZ-YYYY-XXX",
                agency_name="Kementerian ATR/BPN",
                agency_code="ATR-BPN",
                status=CaseStatus.IN_PROGRESS,
                original_complaint_id=uuid.uuid4(),
            ),
        ),
        "assigned": CaseAssigned(
            **envelope(),
            payload=CaseAssignedPayload(
                case_id=uuid.uuid4(),
                tracking_code=CODE,
                agency_code="ATR-BPN",
                agency_name="Kementerian ATR/BPN",
                rule_id="land-national",
                due_at=DUE,
            ),
        ),
        "in_progress": status(CaseStatus.IN_PROGRESS),
        "needs_documents": status(CaseStatus.AWAITING_DOCUMENTS, "Kirim salinan AJB."),
        "documents_reminder": CaseDeadlineApproaching(
            **envelope(),
            payload=CaseDeadlineApproachingPayload(
                case_id=uuid.uuid4(),
                tracking_code=CODE,
                deadline_kind=DeadlineKind.DOCUMENTS,
                due_at=DUE,
                agency_code="ATR-BPN",
                agency_name="Kementerian ATR/BPN",
            ),
        ),
        "responded": status(CaseStatus.RESPONDED, "Sertifikat dapat diambil di kantor BPN."),
        "escalated": CaseOverdue(
            **envelope(),
            payload=CaseOverduePayload(
                case_id=uuid.uuid4(),
                tracking_code=CODE,
                deadline_kind=DeadlineKind.AGENCY_RESPONSE,
                due_at=DUE,
                agency_code="ATR-BPN",
                agency_name="Kementerian ATR/BPN",
                escalation_level=1,
                escalated_to="Inspektorat Jenderal ATR/BPN",
            ),
        ),
        "closed": status(CaseStatus.CLOSED, None),
        "reopened": status(CaseStatus.REOPENED, None),
    }


def test_every_template_has_an_event_and_every_event_a_template() -> None:
    assert set(citizen_events()) == set(TEMPLATE_KEYS)
    # and the one template for officials, not citizens (test_escalation.py)
    assert set(catalog()) == {*TEMPLATE_KEYS, REPLY, STAFF_TEMPLATE}


EXPECTED_PHRASES = {
    ("received", "id"): "telah kami terima dengan nomor LPR-AAAA-BBBB-CCC",
    ("received", "en"): "received your complaint under number LPR-AAAA-BBBB-CCC",
    ("rejected", "id"): "NIK belum dicantumkan; perkara sedang atau pernah diproses di pengadilan",
    ("rejected", "en"): "the NIK is missing; the matter is or was before a court",
    ("under_review", "id"): "sedang ditinjau",
    ("under_review", "en"): "is being reviewed",
    ("duplicate", "id"): "digabungkan. Pantau perkembangannya dengan nomor LPR-ZZZZ-YYYY-XXX",
    ("duplicate", "en"): "Follow its progress with number LPR-ZZZZ-YYYY-XXX",
    ("joined", "id"): "bergabung dengan kasus LPR-ZZZZ-YYYY-XXX yang ditangani Kementerian"
    " ATR/BPN; kasus itu sedang diproses",
    ("joined", "en"): "joined case LPR-ZZZZ-YYYY-XXX, handled by Kementerian ATR/BPN; that case"
    " is in progress",
    ("assigned", "id"): "diteruskan ke Kementerian ATR/BPN untuk ditindaklanjuti paling lambat"
    " 2026-12-07",
    ("assigned", "en"): "forwarded to Kementerian ATR/BPN for follow-up by 2026-12-07",
    ("in_progress", "id"): "sedang diproses oleh Kementerian ATR/BPN",
    ("in_progress", "en"): "Kementerian ATR/BPN is working on complaint",
    ("needs_documents", "id"): "memerlukan dokumen pendukung untuk pengaduan LPR-AAAA-BBBB-CCC."
    " Kirim salinan AJB. Kirim dokumen dalam 10 hari",
    ("needs_documents", "en"): "Kirim salinan AJB. Please send them within 10 days",
    ("documents_reminder", "id"): "paling lambat 2026-12-07",
    ("documents_reminder", "en"): "by 2026-12-07",
    ("responded", "id"): "Tanggapan: Sertifikat dapat diambil di kantor BPN.",
    ("responded", "en"): "Response: Sertifikat dapat diambil di kantor BPN.",
    ("escalated", "id"): "kami eskalasi ke Inspektorat Jenderal ATR/BPN",
    ("escalated", "en"): "escalated it to Inspektorat Jenderal ATR/BPN",
    ("closed", "id"): "Apakah Anda puas dengan penanganannya?",
    ("closed", "en"): "Are you satisfied with how it was handled?",
    ("reopened", "id"): "dibuka kembali karena Anda belum puas",
    ("reopened", "en"): "re-opened because you were not satisfied",
}


@pytest.mark.parametrize("template", TEMPLATE_KEYS)
@pytest.mark.parametrize("language", list(Language))
def test_each_event_renders_in_each_language(template: str, language: Language) -> None:
    event = citizen_events()[template]
    message = message_for(event)
    assert message is not None and message.template == template
    rendered = render(message.template, language, message.context)
    assert EXPECTED_PHRASES[(template, language.value)] in rendered.text
    assert CODE in rendered.text and CODE in rendered.subject
    assert "{{" not in rendered.text and "\n" not in rendered.subject
    assert len(rendered.text) <= 1024  # fits a WhatsApp text body and a few SMS segments

    wa = whatsapp_template(message.template, language, message.context)
    assert wa.name.startswith("lapor_") and wa.language == language.value
    assert wa.parameters[0] == CODE and all(wa.parameters)


def test_indonesian_and_english_differ() -> None:
    for template, event in citizen_events().items():
        message = message_for(event)
        assert message is not None
        indonesian = render(template, Language.INDONESIAN, message.context).text
        english = render(template, Language.ENGLISH, message.context).text
        assert indonesian != english, template


def test_a_missing_fact_fails_loudly_instead_of_sending_a_blank() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        render("assigned", Language.INDONESIAN, {"tracking_code": CODE})


def test_silent_statuses_send_nothing() -> None:
    assert message_for(status(CaseStatus.NOT_IN_REMIT)) is None
    assert message_for(status(CaseStatus.ASSIGNED)) is None
    internal = CaseDeadlineApproaching(
        **envelope(),
        payload=CaseDeadlineApproachingPayload(
            case_id=uuid.uuid4(),
            tracking_code=CODE,
            deadline_kind=DeadlineKind.AGENCY_RESPONSE,
            due_at=DUE,
            agency_code="ATR-BPN",
            agency_name="Kementerian ATR/BPN",
        ),
    )
    assert message_for(internal) is None


@pytest.mark.parametrize("channel", list(Channel))
def test_one_receipt_a_whatsapp_complaint_has_the_conversations_reply(channel: Channel) -> None:
    """WhatsApp: the conversation that filed it answered with the tracking code (a reply with
    purpose "receipt"), so ComplaintReceived sends nothing more; every other channel gets the
    "received" message, its only receipt."""
    received = citizen_events()["received"]
    assert isinstance(received, ComplaintReceived)
    event = received.model_copy(
        update={"payload": received.payload.model_copy(update={"channel": channel})}
    )
    message = message_for(event)
    if channel == Channel.WHATSAPP:
        assert message is None
    else:
        assert message is not None and message.template == "received"
        assert message.context == {"tracking_code": CODE}


def test_a_reply_keeps_intake_text_and_has_a_template_for_outside_the_window() -> None:
    rendered = render_reply("Kode verifikasi Anda: 482913", Language.INDONESIAN)
    assert rendered.text == "Kode verifikasi Anda: 482913"
    wa = whatsapp_template(REPLY, Language.ENGLISH, {"text": rendered.text})
    assert wa.name == "lapor_balasan" and wa.parameters == ("Kode verifikasi Anda: 482913",)


def test_a_receipt_whose_text_was_cleared_falls_back_as_the_received_template() -> None:
    receipt = {"purpose": "receipt"}
    assert fallback_message(REPLY, None, receipt, CODE) == ("received", {"tracking_code": CODE})
    # Anything else repeats itself: a reply still holding its text, another reply, a template.
    assert fallback_message(REPLY, "Terima kasih", receipt, CODE) == (REPLY, receipt)
    conversation = {"purpose": "conversation"}
    assert fallback_message(REPLY, None, conversation, CODE) == (REPLY, conversation)
    assigned = {"tracking_code": CODE, "agency_name": "x", "due_date": "2026-12-01"}
    assert fallback_message("assigned", None, assigned, CODE) == ("assigned", assigned)


def test_the_closing_message_asks_for_a_reply_on_whatsapp_and_links_the_rating_page() -> None:
    context = {"tracking_code": CODE, "agency_name": "Kementerian ATR/BPN", "note": ""}
    url = f"https://lapor.example.id/lapor/puas?kode={CODE}"
    whatsapp = render("closed", Language.INDONESIAN, {**context, "channel": "whatsapp"}).text
    sms = render("closed", Language.INDONESIAN, {**context, "channel": "sms", "rating_url": url})
    email = render("closed", Language.ENGLISH, {**context, "channel": "email", "rating_url": url})
    assert "Balas PUAS atau TIDAK PUAS" in whatsapp
    # Intake reads no SMS: the SMS (and the email) carries the rating page's link instead.
    assert "Balas" not in sms.text and url in sms.text
    assert "Reply" not in email.text and url in email.text
