"""The case file's links to documents, pure rules: a link is intake's signed URL for the reading
officer and lives 15 minutes; an erased reporter's documents get none; intake counts openings
by the audience's issuer only; production refuses the laptop's address of intake."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from schemas import document_links
from schemas.events import Channel
from schemas.events.base import Attachment, Location, Reporter
from schemas.events.intake import ComplaintReceivedPayload
from services.intake.entrypoints.documents_api import audience_issuer
from services.personal_data.field_crypto import new_data_key, seal_model
from services.routing.adapters.citizen_words import opened_with
from services.routing.adapters.repository import Officer
from services.routing.domain import (
    DocumentLinks,
    document_audience,
    document_field,
    document_link,
)
from services.routing.handlers.case_file import with_links
from services.routing.settings import RoutingSettings
from services.runtime.settings import UnsafeConfiguration, check_deployment

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SECRET = "s3cret"
LINKS = DocumentLinks("https://lapor.example.id/", SECRET)
COMPLAINT = uuid.UUID("0b0b0b0b-0000-4000-8000-000000000001")
OFFICER = Officer("officer-atr", "ATR-BPN", "officer")


def parts(url: str) -> tuple[str, str, dict[str, str]]:
    split = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(split.query).items()}
    return f"{split.scheme}://{split.netloc}", split.path, query


def test_a_link_is_intakes_signed_url_for_the_reader_and_lives_fifteen_minutes() -> None:
    audience = document_audience("ATR-BPN", "officer-atr")
    assert audience == "routing:ATR-BPN:officer-atr"
    link = document_link(LINKS, COMPLAINT, "upload:ab12", audience, NOW)
    assert link.expires_at == NOW + timedelta(minutes=15)
    base, path, query = parts(link.url)
    assert base == "https://lapor.example.id"  # one slash between address and path
    assert path == f"/v1/documents/{COMPLAINT}/upload%3Aab12"
    assert query["audience"] == audience and int(query["expires"]) == link.expires_at.timestamp()
    signed = (COMPLAINT, "upload:ab12", int(query["expires"]))
    assert document_links.verify(*signed, audience, query["sig"], SECRET, now=NOW)
    # Intake's check fails for another officer, another secret, or after 15 minutes.
    assert not document_links.verify(*signed, "routing:ATR-BPN:x", query["sig"], SECRET, now=NOW)
    assert not document_links.verify(*signed, audience, query["sig"], "other", now=NOW)
    later = NOW + timedelta(minutes=15)
    assert not document_links.verify(*signed, audience, query["sig"], SECRET, now=later)


def payload(filename: str | None = "kwitansi.jpg") -> ComplaintReceivedPayload:
    return ComplaintReceivedPayload(
        tracking_code="LPR-AAAA-TEST-AAA",
        channel=Channel.WEB,
        reporter=Reporter(name="Siti Aminah", nik="3171015501900001", phone="+6281234567890"),
        description="Sertifikat tanah saya tidak terbit sejak 2019.",
        location=Location(region_code="31.71", address="Jl. Kenanga 7"),
        attachments=(Attachment(attachment_id="a1", media_type="image/jpeg", filename=filename),),
        received_at=NOW,
    )


def test_a_complaint_is_erased_when_the_key_store_says_its_key_is_gone() -> None:
    key = new_data_key()
    sealed = seal_model(payload(), key)
    assert not opened_with(sealed, {key.key_id: key}).erased
    assert opened_with(sealed, {key.key_id: None}).erased  # the key was erased
    assert not opened_with(payload(), {}).erased  # nothing sealed, no key named: not erased
    # A value left unreadable under a live key is not an erasure: intake still serves the
    # reporter's documents, so they keep their links (what is left sealed decides nothing).
    damaged = sealed.model_copy(update={"description": sealed.description[:-6] + "AAAAAA"})
    assert not opened_with(damaged, {key.key_id: key}).erased


def document(complaint_id: uuid.UUID, attachment_id: str) -> dict[str, object]:
    return {
        "complaint_id": complaint_id,
        "attachment_id": attachment_id,
        "tracking_code": "LPR-AAAA-TEST-AAA",
        "source": "complaint",
    }


def test_each_document_gets_a_link_unless_its_reporter_was_erased() -> None:
    erased_complaint = uuid.uuid4()
    documents = [document(COMPLAINT, "a1"), document(erased_complaint, "a2")]
    kept, erased = with_links(documents, {erased_complaint}, OFFICER, LINKS, NOW)
    assert kept["erased"] is False and kept["url_expires_at"] == NOW + timedelta(minutes=15)
    _, path, query = parts(kept["url"])
    assert path == f"/v1/documents/{COMPLAINT}/a1"
    assert query["audience"] == "routing:ATR-BPN:officer-atr"
    assert (erased["erased"], erased["url"], erased["url_expires_at"]) == (True, None, None)
    # Without a link configuration nothing is linked, and erasure is still shown.
    unlinked = with_links(documents, {erased_complaint}, OFFICER, None, NOW)
    assert [(d["url"], d["erased"]) for d in unlinked] == [(None, False), (None, True)]
    assert document_field("LPR-AAAA-TEST-AAA", "a1") == "LPR-AAAA-TEST-AAA:documents.a1"


def test_intake_counts_openings_by_the_audiences_issuer_never_by_officer() -> None:
    assert audience_issuer("routing:ATR-BPN:officer-atr") == "routing"
    assert audience_issuer("routing") == "routing"
    assert audience_issuer(":x") == "unknown"


def test_production_refuses_the_laptops_address_of_intake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAPOR_ROUTING_INTAKE_PUBLIC_URL", raising=False)
    assert RoutingSettings().intake_public_url == "http://127.0.0.1:8000"  # `lapor up`'s intake
    monkeypatch.setenv("LAPOR_ENV", "production")
    with pytest.raises(UnsafeConfiguration, match="LAPOR_ROUTING_INTAKE_PUBLIC_URL"):
        check_deployment(RoutingSettings())
    monkeypatch.setenv("LAPOR_ROUTING_INTAKE_PUBLIC_URL", "https://lapor.example.id")
    assert "LAPOR_ROUTING_INTAKE_PUBLIC_URL" not in _refused(RoutingSettings())


def _refused(settings: RoutingSettings) -> str:
    try:
        check_deployment(settings)
    except UnsafeConfiguration as error:
        return str(error)
    return ""
