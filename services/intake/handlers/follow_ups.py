"""After filing: proving ownership of a report, one-time codes, and additions to an open
report (`ComplaintUpdated`). Each runs in one transaction; events leave through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.events import Attachment, Channel, ComplaintUpdated, Language
from schemas.events.intake import (
    CitizenReplyRequested,
    CitizenReplyRequestedPayload,
    ComplaintUpdatedPayload,
)
from services.intake.adapters import reporter_limits, repository
from services.intake.domain import ownership
from services.intake.domain.citizen_status import format_wib, language_of
from services.intake.domain.complaints import PRODUCER
from services.intake.domain.limits import contact_subject
from services.intake.handlers.documents import seal_documents
from services.intake.settings import IntakeSettings
from services.messaging import outbox
from services.personal_data.field_crypto import Unreadable
from services.personal_data.keystore import Keystore


class ProofFailed(Exception):
    pass


class TooManyCodes(Exception):
    pass


class UpdateRefused(Exception):
    pass


async def prove_ownership(
    conn: asyncpg.Connection,
    record: repository.ComplaintRecord,
    settings: IntakeSettings,
    *,
    phone: str | None,
    email: str | None,
    one_time_code: str | None,
) -> None:
    """Raise ProofFailed unless the citizen showed the contact on file or a valid code."""
    if phone and ownership.phone_matches(record.contact_phone, phone):
        return
    if email and ownership.email_matches(record.contact_email, email):
        return
    if one_time_code:
        digest = ownership.code_digest(
            settings.one_time_code_key, str(record.complaint_id), one_time_code.strip()
        )
        if await repository.use_one_time_code(
            conn, record.complaint_id, digest, ownership.MAX_FAILED_TRIES
        ):
            return
    raise ProofFailed("the contact or one-time code does not match this report")


async def admit_one_time_code(
    conn: asyncpg.Connection, settings: IntakeSettings, destination: str | None
) -> float:
    """Codes to one phone or email across all its reports (the per-report limit is in
    `send_one_time_code`): stops a stranger from flooding someone's phone with codes."""
    if not destination:
        return 0.0
    name = contact_subject(settings.reporter_hash_key, destination)
    return await reporter_limits.admit(
        conn, reporter_limits.ONE_TIME_CODE, [name], settings.one_time_codes_per_contact_per_hour
    )


async def send_one_time_code(
    conn: asyncpg.Connection,
    record: repository.ComplaintRecord,
    settings: IntakeSettings,
    keys: Keystore,
) -> str:
    """Issue a code and ask the notifier to deliver it; returns the channel used."""
    if await repository.recent_code_count(conn, record.complaint_id, minutes=60) >= 5:
        raise TooManyCodes("at most 5 codes per hour")
    code = ownership.new_one_time_code()
    code_id = uuid.uuid4()
    if record.contact_phone:
        channel, to = Channel.WHATSAPP, record.contact_phone.removeprefix("+")
    elif record.contact_email:
        channel, to = Channel.WEB, record.contact_email
    else:
        raise ProofFailed("this report has no contact to send a code to")
    language = Language(record.details.get("reporter", {}).get("language", "id"))
    text = (
        f"Kode sekali pakai untuk laporan {record.tracking_code}: {code}. Berlaku 10 menit."
        if language is Language.INDONESIAN
        else f"One-time code for report {record.tracking_code}: {code}. Valid for 10 minutes."
    )
    request = CitizenReplyRequested(
        event_id=code_id,
        complaint_id=record.complaint_id,
        correlation_id=record.complaint_id,
        producer=PRODUCER,
        payload=CitizenReplyRequestedPayload(
            reply_id=code_id,
            channel=channel,
            to=to,
            text=text,
            language=language,
            purpose="one_time_code",
            tracking_code=record.tracking_code,
        ),
    )
    async with conn.transaction():
        await repository.store_one_time_code(
            conn,
            code_id=code_id,
            complaint_id=record.complaint_id,
            digest=ownership.code_digest(
                settings.one_time_code_key, str(record.complaint_id), code
            ),
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.one_time_code_seconds),
        )
        if record.key_id is not None:  # the address is sealed under the reporter's own key
            request = await keys.seal(conn, request, key_id=record.key_id)
        await outbox.enqueue(conn, [request])
    return channel.value


def window_closed_message(closed: datetime, language: Language) -> str:
    """Why an addition came too late, with the window's end in WIB."""
    when = format_wib(closed, language)
    if language is Language.ENGLISH:
        return f"additions to this report were accepted until {when}"
    return f"tambahan untuk laporan ini hanya diterima sampai {when}"


def _language(record: repository.ComplaintRecord) -> Language:
    return language_of(record.details.get("reporter", {}).get("language"))


async def add_update(
    conn: asyncpg.Connection,
    record: repository.ComplaintRecord,
    settings: IntakeSettings,
    *,
    keys: Keystore,
    text: str,
    attachments: Sequence[tuple[Attachment, bytes]] = (),
    idempotency_key: str | None,
    fingerprint: str,
    now: datetime | None = None,
) -> uuid.UUID:
    """Record an addition to an open report as `ComplaintUpdated`; returns the event id.
    The text and the filenames are the citizen's words, and the documents (`attachments`, their
    plain bytes) theirs: all sealed with the reporter's data key before they are stored
    (`complaint_updates`, `complaint_attachments`) or published."""
    now = now or datetime.now(UTC)
    if idempotency_key:
        existing = await repository.find_update(conn, idempotency_key)
        if existing is not None:
            if existing[1] != fingerprint:
                raise UpdateRefused("this Idempotency-Key was already used for another update")
            return existing[0]
    if record.status in ownership.FINAL_STATUSES:
        raise UpdateRefused(f"this report is {record.status} and takes no more additions")
    days, documents_due = settings.update_window_days, record.documents_due_at
    if not ownership.update_window_open(record.received_at, now, days, documents_due):
        closed = ownership.update_window_closes(record.received_at, days, documents_due)
        raise UpdateRefused(window_closed_message(closed, _language(record)))
    event = ComplaintUpdated(
        complaint_id=record.complaint_id,
        correlation_id=record.complaint_id,
        producer=PRODUCER,
        occurred_at=now,
        payload=ComplaintUpdatedPayload(
            tracking_code=record.tracking_code,
            additional_text=text,
            attachments=tuple(attachment for attachment, _ in attachments),
        ),
    )
    documents = await _sealed_documents(conn, record, keys, attachments)
    async with conn.transaction():
        event = await _sealed(conn, keys, record, event)
        if not await repository.record_update(
            conn, event, idempotency_key=idempotency_key, fingerprint=fingerprint
        ):
            raise UpdateRefused("a concurrent update used this Idempotency-Key")
        await repository.add_attachments(
            conn, record.complaint_id, event.payload.attachments, documents
        )
        await outbox.enqueue(conn, [event])
    return event.event_id


async def _sealed(
    conn: asyncpg.Connection,
    keys: Keystore,
    record: repository.ComplaintRecord,
    event: ComplaintUpdated,
) -> ComplaintUpdated:
    """The addition sealed under the report's own key (rows stored unsealed stay plain)."""
    if record.key_id is None:
        return event
    try:
        return await keys.seal(conn, event, key_id=record.key_id)
    except Unreadable:
        raise UpdateRefused("this report's personal data was erased") from None


async def _sealed_documents(
    conn: asyncpg.Connection,
    record: repository.ComplaintRecord,
    keys: Keystore,
    attachments: Sequence[tuple[Attachment, bytes]],
) -> list[repository.SealedDocument]:
    """The addition's documents sealed with the reporter's data key."""
    if not any(data for _, data in attachments):
        return []
    key = await keys.key(conn, record.key_id) if record.key_id else None
    if key is None:
        raise UpdateRefused("this report's personal data was erased; it takes no documents")
    return seal_documents(key, attachments)
