"""Documents, pure: the type decided by the content's magic bytes, size and count bounds, the
refusal texts, and the signed links staff open documents with."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from schemas import document_links
from schemas.events import Attachment, Language
from services.intake.domain.documents import (
    DocumentRefused,
    Refusal,
    check_count,
    checked_document,
    refusal_text,
    sha256_hex,
    sniff,
)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
EXE = b"MZ\x90\x00\x03\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, "application/pdf"),
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (EXE, None),
        (b"Just some text, named bukti.pdf", None),
        (b"%PDF", None),  # cut short: not the whole signature
        (b"\x89PNG\r\n\x1a", None),
        (b"", None),
        (b" %PDF-1.4", None),  # the signature must be at the very start
    ],
)
def test_the_type_is_the_content_s_not_the_name_s(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


def test_a_checked_document_carries_its_sniffed_type_size_and_digest() -> None:
    attachment = checked_document(PNG, max_bytes=100, filename="foto.pdf")
    assert attachment == Attachment(
        attachment_id=f"upload:{sha256_hex(PNG)[:32]}",
        media_type="image/png",  # whatever the name says
        filename="foto.pdf",
        size_bytes=len(PNG),
        sha256=sha256_hex(PNG),
    )
    given = checked_document(PDF, max_bytes=100, attachment_id="whatsapp:M1")
    assert given.attachment_id == "whatsapp:M1" and given.filename is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (EXE, Refusal.UNSUPPORTED_TYPE),
        (b"hello", Refusal.UNSUPPORTED_TYPE),
        (b"", Refusal.EMPTY),
        (PDF + b"0" * 100, Refusal.TOO_LARGE),
    ],
)
def test_what_is_not_kept_says_why(data: bytes, reason: Refusal) -> None:
    with pytest.raises(DocumentRefused) as refused:
        checked_document(data, max_bytes=100, filename="x.pdf")
    assert refused.value.reason is reason and refused.value.name == "x.pdf"


def test_exactly_the_limit_is_kept_and_the_count_is_bounded() -> None:
    assert checked_document(PDF + b"0" * (100 - len(PDF)), max_bytes=100).size_bytes == 100
    check_count(5, 5)
    with pytest.raises(DocumentRefused) as refused:
        check_count(6, 5)
    assert refused.value.reason is Refusal.TOO_MANY


def test_refusals_read_in_the_citizen_s_language() -> None:
    limits = {"max_bytes": 5 * 1024 * 1024, "max_count": 5}
    kind = DocumentRefused(Refusal.UNSUPPORTED_TYPE, "virus.exe")
    assert refusal_text(kind, Language.INDONESIAN, **limits) == (
        "virus.exe: hanya PDF, JPG atau PNG yang dapat kami terima."
    )
    assert refusal_text(kind, Language.ENGLISH, **limits).startswith("virus.exe: only PDF")
    big = DocumentRefused(Refusal.TOO_LARGE)
    assert refusal_text(big, Language.INDONESIAN, **limits) == "Berkas lebih dari 5 MB."
    many = DocumentRefused(Refusal.TOO_MANY)
    assert refusal_text(many, Language.ENGLISH, **limits) == "At most 5 files."


# ----------------------------------------------------------------------------- links

COMPLAINT = uuid.UUID("0b7e7d1c-3f0a-4d7e-9a57-0a4c3f6b1e21")
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=15)


def test_a_signed_link_verifies_until_it_expires() -> None:
    sig = document_links.sign(COMPLAINT, "upload:ab", LATER, "routing:bpn:o1", "s3cret")
    assert len(sig) == 64
    args = (COMPLAINT, "upload:ab", LATER, "routing:bpn:o1", sig, "s3cret")
    assert document_links.verify(*args, now=NOW)
    assert document_links.verify(*args, now=LATER - timedelta(seconds=1))
    assert not document_links.verify(*args, now=LATER)
    assert not document_links.verify(*args, now=LATER + timedelta(days=1))


@pytest.mark.parametrize(
    "changed",
    [
        {"complaint_id": uuid.uuid4()},
        {"attachment_id": "upload:ac"},
        {"expires_at": LATER + timedelta(days=30)},
        {"audience": "routing:bpn:o2"},
        {"secret": "other"},
        {"secret": ""},
        {"signature": ""},
        {"signature": "0" * 64},
        {"complaint_id": "not-a-uuid"},
    ],
)
def test_any_change_to_a_link_breaks_its_signature(changed: dict[str, object]) -> None:
    link: dict[str, object] = {
        "complaint_id": COMPLAINT,
        "attachment_id": "upload:ab",
        "expires_at": LATER,
        "audience": "routing:bpn:o1",
        "secret": "s3cret",
    }
    signature = document_links.sign(**link)  # type: ignore[arg-type]
    assert document_links.verify(**link, signature=signature, now=NOW)  # type: ignore[arg-type]
    forged = {**link, "signature": signature, **changed}
    assert not document_links.verify(**forged, now=NOW)  # type: ignore[arg-type]


def test_free_text_parts_cannot_be_shifted_into_each_other() -> None:
    one = document_links.sign(COMPLAINT, "a\n1:b", LATER, "c", "k")
    two = document_links.sign(COMPLAINT, "a", LATER, "b\n1:c", "k")
    assert one != two


def test_the_link_carries_what_verify_needs() -> None:
    path = document_links.link(COMPLAINT, "upload:ab", LATER, "routing:bpn:o1", "s3cret")
    parts = urlsplit(path)
    assert parts.path == f"/v1/documents/{COMPLAINT}/upload%3Aab"
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert query["expires"] == str(int(LATER.timestamp()))
    assert document_links.verify(
        COMPLAINT,
        "upload:ab",
        int(query["expires"]),
        query["audience"],
        query["sig"],
        "s3cret",
        now=NOW,
    )
