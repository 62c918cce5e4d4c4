"""Field-level encryption, pure: sealing, opening, wrapping, identities, and model walking."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.events import Channel, ComplaintReceived, parse_event, serialize_event
from schemas.events.base import Attachment
from schemas.events.intake import (
    CitizenReplyRequested,
    CitizenReplyRequestedPayload,
    ComplaintUpdated,
    ComplaintUpdatedPayload,
)
from schemas.personal_data import is_sealed, masked, sealed_key_id
from services.intake.domain.complaints import Submission, complaint_received
from services.personal_data.field_crypto import (
    DEV_MASTER_KEYS,
    KeyConfigError,
    MasterKeys,
    Unreadable,
    identity_of,
    keys_from_env,
    new_data_key,
    new_master_key,
    open_model,
    open_tree,
    open_value,
    personal_values,
    seal_model,
    sealed_key_ids_in,
    whatsapp_message_ref,
)
from services.triage.domain.rules import assess

NIK = "3171015501900001"
PHONE = "+6281234567890"


def complaint(**changes: object) -> ComplaintReceived:
    values: dict[str, object] = {
        "channel": Channel.WEB,
        "name": "Siti Aminah",
        "nik": NIK,
        "phone": PHONE,
        "email": "siti@example.id",
        "description": "Sertifikat tanah kami tidak terbit sejak 2019 padahal sudah dibayar.",
        "address": "Jl. Merdeka 1",
    }
    values.update(changes)
    submission = Submission(**values)  # type: ignore[arg-type]
    return complaint_received(submission, uuid.uuid4(), "LPR-0000-0000-0", datetime.now(UTC))


def test_a_sealed_value_names_its_key_and_opens_with_it() -> None:
    key = new_data_key()
    sealed = key.seal(NIK)
    assert is_sealed(sealed) and sealed_key_id(sealed) == key.key_id
    assert NIK not in sealed
    assert key.open(sealed) == NIK
    assert key.seal(NIK) == sealed  # deterministic per key: equality lookups keep working
    assert key.seal(NIK + "2") != sealed


def test_another_key_or_a_tampered_value_does_not_open() -> None:
    key, other = new_data_key(), new_data_key()
    sealed = key.seal(PHONE)
    assert other.seal(PHONE) != sealed
    with pytest.raises(Unreadable):
        other.open(sealed)
    # The key id is bound as associated data: relabelling a value under another id fails.
    relabelled = sealed.replace(key.key_id, other.key_id)
    forged = type(key)(other.key_id, key.material)
    with pytest.raises(Unreadable):
        forged.open(relabelled)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(Unreadable):
        key.open(flipped)


def test_documents_seal_as_bytes_and_open_only_with_their_key() -> None:
    key, other = new_data_key(), new_data_key()
    document = b"%PDF-1.7\n" + bytes(range(256)) * 40
    sealed = key.seal_bytes(document)
    assert document not in sealed and b"%PDF" not in sealed
    assert sealed != key.seal_bytes(document)  # a random nonce per document
    assert key.open_bytes(sealed) == document
    with pytest.raises(Unreadable):
        other.open_bytes(sealed)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(Unreadable):
        key.open_bytes(tampered)
    with pytest.raises(Unreadable):
        key.open_bytes(b"short")
    # A field's sealed text and a document's blob are bound to different associated data.
    text = key.seal("0812").rsplit(":", 1)[1]
    with pytest.raises(Unreadable):
        key.open_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_open_value_passes_plain_text_and_gives_none_for_an_erased_key() -> None:
    key = new_data_key()
    sealed = key.seal("Siti")
    assert open_value("plain", {}) == "plain"
    assert open_value(sealed, {key.key_id: key}) == "Siti"
    assert open_value(sealed, {key.key_id: None}) is None
    assert open_value(sealed, {}) is None


def test_master_keys_wrap_and_rotate() -> None:
    first, second = new_master_key(), new_master_key()
    old = MasterKeys.parse(f"v1:{first}")
    rotated = MasterKeys.parse(f"v2:{second},v1:{first}")
    assert rotated.current == "v2"
    dek = new_data_key()
    version, wrapped = old.wrap(dek)
    assert version == "v1" and dek.material not in wrapped
    assert rotated.unwrap(dek.key_id, version, wrapped).material == dek.material
    new_version, rewrapped = rotated.wrap(dek)
    assert new_version == "v2"
    with pytest.raises(KeyConfigError):
        old.unwrap(dek.key_id, new_version, rewrapped)  # v2 is unknown to the old config
    with pytest.raises(KeyConfigError):
        rotated.unwrap("another-key-id", version, wrapped)  # bound to its key id


@pytest.mark.parametrize(
    "spec", ["", "v1:short", "v1:" + "A" * 43 + ",v1:" + "B" * 43, "nonsense", "v1:***"]
)
def test_bad_master_key_specs_are_refused(spec: str) -> None:
    with pytest.raises(KeyConfigError):
        MasterKeys.parse(spec)


def test_production_refuses_the_development_keys() -> None:
    with pytest.raises(KeyConfigError):
        keys_from_env({"LAPOR_ENV": "production"})
    master, identity_key = keys_from_env({})
    assert master == MasterKeys.parse(DEV_MASTER_KEYS) and identity_key
    real = f"v3:{new_master_key()}"
    master, identity_key = keys_from_env(
        {"LAPOR_ENV": "production", "LAPOR_MASTER_KEYS": real, "LAPOR_IDENTITY_KEY": "s3cret"}
    )
    assert master.current == "v3" and identity_key == b"s3cret"
    assert "v3" in repr(master) and real.split(":")[1] not in repr(master)


def test_identity_is_nik_else_phone_else_email_normalised() -> None:
    assert identity_of("3171 0155 0190 0001", PHONE, None) == f"nik:{NIK}"
    assert identity_of(None, "+62 812-3456-7890", "x@y.id") == "phone:6281234567890"
    assert identity_of(None, "6281234567890", None) == identity_of(None, PHONE, None)
    assert identity_of(None, None, " Siti@Example.ID ") == "email:siti@example.id"
    assert identity_of(None, None, None) is None


def test_a_wamid_is_kept_as_a_keyed_hash_that_hides_the_number() -> None:
    # A real wamid is base64 that encodes the sender's number.
    wamid = "wamid." + base64.b64encode(b"\x15\x02\x00\x116281234567890\x15\x02").decode()
    ref = whatsapp_message_ref(b"identity-key", wamid)
    assert ref.startswith("wref1:") and ref == whatsapp_message_ref(b"identity-key", wamid)
    assert ref != whatsapp_message_ref(b"another-key", wamid)  # keyed
    assert ref != whatsapp_message_ref(b"identity-key", wamid + "x")
    assert "6281234567890" not in ref and wamid[6:] not in ref
    # Intake publishes the ref; the notifier may meet it (or an old event's wamid) again.
    assert whatsapp_message_ref(b"identity-key", ref) == ref


def test_every_personal_field_of_an_event_is_sealed_and_nothing_else() -> None:
    event = complaint()
    key = new_data_key()
    sealed = seal_model(event, key)
    values = personal_values(sealed)
    # name, NIK, phone, email, address and the citizen's own words (the chronology)
    assert len(values) == 6 and all(sealed_key_id(v) == key.key_id for v in values)
    assert is_sealed(sealed.payload.description)
    assert sealed.payload.tracking_code == event.payload.tracking_code
    raw = serialize_event(sealed)
    for secret in (NIK, PHONE, "Siti Aminah", "siti@example.id", "Jl. Merdeka", "Sertifikat"):
        assert secret.encode() not in raw
    # The wire form still parses (the schema keeps personal fields as strings) and masks.
    assert parse_event(raw) == sealed
    assert masked(sealed)["payload"]["reporter"]["nik"] == "***"
    assert seal_model(sealed, new_data_key()) == sealed  # never sealed twice
    assert sealed_key_ids_in(sealed) == {key.key_id}
    assert open_model(sealed, {key.key_id: key}) == event


def test_an_erased_reporters_fields_stay_sealed_and_triage_decides_on_the_rest() -> None:
    key = new_data_key()
    sealed = seal_model(complaint(), key)
    still = open_model(sealed, {key.key_id: None})
    assert still == sealed and is_sealed(still.payload.reporter.nik)
    codes = {reason.code for reason in assess(still.payload).reasons}
    assert not codes & {"nik_missing", "nik_invalid", "phone_invalid", "contact_missing"}


def test_a_reply_address_is_sealed_too() -> None:
    reply = CitizenReplyRequested(
        complaint_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        producer="intake",
        payload=CitizenReplyRequestedPayload(
            reply_id=uuid.uuid4(), channel=Channel.WHATSAPP, to="6281234567890", text="Halo"
        ),
    )
    key = new_data_key()
    sealed = seal_model(reply, key)
    # The text may quote the citizen's words (a conversation's summary): sealed as well.
    assert is_sealed(sealed.payload.to) and is_sealed(sealed.payload.text)
    assert open_model(sealed, {key.key_id: key}) == reply


def test_open_tree_opens_a_stored_payload() -> None:
    key = new_data_key()
    stored = {"reporter": {"nik": key.seal(NIK), "language": "id"}, "n": [key.seal("a"), 1]}
    assert open_tree(stored, {key.key_id: key}) == {
        "reporter": {"nik": NIK, "language": "id"},
        "n": ["a", 1],
    }
    assert open_tree(stored, {})["reporter"]["nik"] is None
    assert sealed_key_ids_in(stored) == {key.key_id}


def test_a_data_key_never_shows_its_material() -> None:
    key = new_data_key()
    assert key.material.hex() not in repr(key) and key.key_id in repr(key)


def test_the_citizens_words_are_sealed_in_an_addition_and_its_filenames() -> None:
    update = ComplaintUpdated(
        complaint_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        producer="intake",
        payload=ComplaintUpdatedPayload(
            tracking_code="LPR-0000-0000-0",
            additional_text="Kwitansi pembayaran terlampir.",
            attachments=(
                Attachment(attachment_id="a1", media_type="image/png", filename="kw.png"),
            ),
        ),
    )
    key = new_data_key()
    sealed = seal_model(update, key)
    raw = serialize_event(sealed)
    assert b"Kwitansi" not in raw and b"kw.png" not in raw
    assert parse_event(raw) == sealed  # a sealed text longer than the plain limit still parses
    assert open_model(sealed, {key.key_id: key}) == update
    assert open_model(sealed, {key.key_id: None}) == sealed  # erased: unreadable, not lost


def test_a_sealed_chronology_at_the_plain_limit_still_parses_and_a_longer_text_does_not() -> None:
    longest = complaint(description="é" * 20_000)
    sealed = seal_model(longest, new_data_key())
    assert len(sealed.payload.description) > 20_000
    assert parse_event(serialize_event(sealed)) == sealed
    with pytest.raises(ValidationError, match="at most 20000 characters"):
        ComplaintUpdatedPayload(tracking_code="x", additional_text="a" * 20_001)
