"""The agency's case file, pure rules: what routing keeps of an anonymous report, whose contact
the agency sees, erased values, which personal fields a page shows, and the chronology."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.events import Channel
from schemas.events.base import Attachment, Location, Reporter
from schemas.events.intake import ComplaintReceivedPayload
from schemas.personal_data import ERASED
from services.personal_data.field_crypto import new_data_key, open_model, seal_model
from services.routing.adapters.citizen_words import opened_with, shown
from services.routing.domain import (
    CONTACT_PATHS,
    INCIDENT_PATHS,
    ChronologyEntry,
    Contact,
    Entry,
    chronology,
    contact_of,
    contact_paths,
    personal_fields_shown,
    without_identity,
)

AT = datetime(2026, 8, 13, 2, 0, tzinfo=UTC)


def payload(*, anonymous: bool = False, secret: bool = False) -> ComplaintReceivedPayload:
    return ComplaintReceivedPayload(
        tracking_code="LPR-AAAA-TEST-AAA",
        channel=Channel.WEB,
        reporter=Reporter(
            name="Siti Aminah", nik="3171015501900001", phone="+6281234567890", email="s@x.id"
        ),
        description="Sertifikat tanah saya tidak terbit sejak 2019.",
        location=Location(region_code="31.71", city="Jakarta Pusat", address="Jl. Kenanga 7"),
        attachments=(Attachment(attachment_id="a1", media_type="image/jpeg", size_bytes=10),),
        anonymous=anonymous,
        secret=secret,
        received_at=AT,
    )


def test_an_anonymous_report_is_kept_without_any_identity_but_with_its_content() -> None:
    kept = without_identity(payload(anonymous=True))
    reporter = kept.reporter
    assert (reporter.name, reporter.nik, reporter.phone, reporter.email) == ("", None, None, None)
    assert "Siti" not in kept.model_dump_json() and "3171015501900001" not in str(kept)
    assert kept.description == payload().description
    assert kept.location == payload().location and kept.attachments == payload().attachments


def test_a_named_report_is_kept_exactly_as_it_came() -> None:
    sealed = seal_model(payload(secret=True), new_data_key())
    assert without_identity(sealed) == sealed


def test_the_agency_sees_the_reporter_unless_anonymous_and_their_contact_unless_secret() -> None:
    assert contact_paths(anonymous=False, secret=False) == CONTACT_PATHS
    assert contact_paths(anonymous=True, secret=False) == contact_paths(True, True) == ()
    assert contact_of(payload(anonymous=True)) is None
    # Secret: the agency may know who reported, but gets no phone or email to reach them.
    assert contact_paths(anonymous=False, secret=True) == ("reporter.name",)
    assert contact_of(payload(secret=True)) == Contact("Siti Aminah", None, None)
    assert contact_of(payload()) == Contact("Siti Aminah", "+6281234567890", "s@x.id")


def test_an_erased_reporters_values_read_erased_never_the_ciphertext() -> None:
    key = new_data_key()
    sealed = seal_model(payload(), key)
    erased = opened_with(sealed, {key.key_id: None})  # the key store: the key is gone
    assert erased.erased
    assert contact_of(erased.model) == Contact(ERASED, ERASED, ERASED)
    assert erased.model.location.address == erased.model.description == ERASED
    assert shown(sealed.description, {key.key_id: None}) == ERASED  # a summary, the same way
    opened = opened_with(sealed, {key.key_id: key})
    assert not opened.erased
    assert contact_of(opened.model) == Contact("Siti Aminah", "+6281234567890", "s@x.id")
    assert shown("plain", {}) == "plain"


def test_only_readable_personal_fields_count_as_shown() -> None:
    paths = [*CONTACT_PATHS, *INCIDENT_PATHS, "location.city", "attachments.filename"]
    # city is not personal data; no attachment has a filename; email is absent below.
    shown = personal_fields_shown(payload(), paths)
    assert shown == ["reporter.name", "reporter.phone", "reporter.email", "location.address"]
    no_email = payload().model_copy(
        update={"reporter": Reporter(name="Siti Aminah", phone="+6281234567890")}
    )
    assert "reporter.email" not in personal_fields_shown(no_email, paths)
    key = new_data_key()
    erased = open_model(seal_model(payload(), key), {key.key_id: None})
    assert personal_fields_shown(erased, paths) == []  # nothing readable, nothing opened
    as_shown = opened_with(seal_model(payload(), key), {key.key_id: None}).model
    assert personal_fields_shown(as_shown, paths) == []  # '(data erased)' is not their data
    assert personal_fields_shown(without_identity(payload(anonymous=True)), CONTACT_PATHS) == []


def test_the_chronology_is_in_time_order_with_the_filing_first_at_one_instant() -> None:
    later = AT + timedelta(hours=1)
    entries = [
        ChronologyEntry(later, Entry.ADDITION, "citizen", "Foto lokasi."),
        ChronologyEntry(AT, Entry.STATUS, "system", "rule land v1", "assigned"),
        ChronologyEntry(later, Entry.STATUS, "officer-atr", "diterima", "in_progress"),
        ChronologyEntry(AT, Entry.FILED, "citizen", "Sertifikat ..."),
        ChronologyEntry(AT - timedelta(days=1), Entry.FILED, "citizen", "Laporan lain"),
    ]
    assert [(e.at, e.kind) for e in chronology(entries)] == [
        (AT - timedelta(days=1), Entry.FILED),
        (AT, Entry.FILED),
        (AT, Entry.STATUS),
        (later, Entry.STATUS),
        (later, Entry.ADDITION),
    ]


def test_routing_opens_sealed_words_in_one_place() -> None:
    """The desk, the case file, Open311 and SP4N-LAPOR! all show the citizen's words through
    `adapters.citizen_words`: no second way to open them (and to decide what reads erased)."""
    root = Path(__file__).resolve().parents[2] / "services" / "routing"
    opening = re.compile(
        r"\bkeys\.(open|reveal|open_json|keys|key)\(|\b(open_model|open_value|open_tree|is_sealed)\b"
    )
    elsewhere = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "citizen_words.py" and opening.search(path.read_text())
    }
    # domain.py only tells a sealed value from a plain one when counting what a page shows.
    assert elsewhere <= {"domain.py"}
