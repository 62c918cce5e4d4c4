"""Intake's service layer: the use cases every channel shares (file a complaint, prove
ownership, add to a report). Each runs in one transaction; events leave through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.events import Attachment, Channel, ComplaintUpdated, Language
from schemas.events.intake import (
    CitizenReplyRequested,
    CitizenReplyRequestedPayload,
    ComplaintUpdatedPayload,
)
from services.intake import repository
from services.intake.domain import ownership
from services.intake.domain.complaints import (
    PRODUCER,
    Submission,
    complaint_received,
    reporter_identity,
)
from services.intake.domain.tracking import new_tracking_code
from services.intake.settings import IntakeSettings
from services.messaging import outbox
from services.personal_data.keystore import Keystore, default_keystore


@dataclass(frozen=True)
class Filed:
    tracking_code: str | None  # None: the idempotency key belongs to a different complaint
    complaint_id: uuid.UUID | None
    replayed: bool


async def file_complaint(
    conn: asyncpg.Connection,
    submission: Submission,
    *,
    idempotency_key: str | None,
    fingerprint: str | None,
    uploads: Sequence[tuple[Attachment, bytes]] = (),
    officer_id: str | None = None,
    now: datetime | None = None,
    keys: Keystore | None = None,
) -> Filed:
    if idempotency_key:
        existing = await repository.find_by_idempotency_key(conn, idempotency_key)
        if existing is not None:
            return replay(existing, fingerprint)
    complaint_id = uuid.uuid4()
    event = complaint_received(
        submission, complaint_id, new_tracking_code(), now or datetime.now(UTC)
    )
    keys = keys or default_keystore()
    async with conn.transaction():
        # Sealed before it is stored or published: the row, the outbox and every topic copy
        # hold only ciphertext, and erasing the reporter's key erases them all.
        event = await keys.seal(conn, event, identity=reporter_identity(submission))
        inserted = await repository.record_complaint(
            conn,
            event,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            officer_id=officer_id,
            uploads=uploads,
        )
    if not inserted:  # a concurrent double-submit with the same key won the race
        existing = await repository.find_by_idempotency_key(conn, idempotency_key or "")
        if existing is None:
            raise RuntimeError("complaint was not stored and no idempotent twin exists")
        return replay(existing, fingerprint)
    return Filed(event.payload.tracking_code, complaint_id, replayed=False)


def replay(existing: repository.StoredComplaint, fingerprint: str | None) -> Filed:
    if existing.request_fingerprint != fingerprint:
        return Filed(None, None, replayed=True)
    return Filed(existing.tracking_code, existing.complaint_id, replayed=True)


class ProofFailed(Exception):
    pass


class TooManyCodes(Exception):
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


async def send_one_time_code(
    conn: asyncpg.Connection,
    record: repository.ComplaintRecord,
    settings: IntakeSettings,
    keys: Keystore | None = None,
) -> str:
    """Issue a code and ask the notifier to deliver it; returns the channel used."""
    if await repository.recent_code_count(conn, record.complaint_id, minutes=60) >= 5:
        raise TooManyCodes("at most 5 codes per hour")
    code = ownership.new_one_time_code()
    code_id = uuid.uuid4()
    now = datetime.now(UTC)
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
    async with conn.transaction():
        await repository.store_one_time_code(
            conn,
            code_id=code_id,
            complaint_id=record.complaint_id,
            digest=ownership.code_digest(
                settings.one_time_code_key, str(record.complaint_id), code
            ),
            expires_at=now + timedelta(seconds=settings.one_time_code_seconds),
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
        if record.key_id is not None:  # the address is sealed under the reporter's own key
            request = await (keys or default_keystore()).seal(conn, request, key_id=record.key_id)
        await outbox.enqueue(conn, [request])
    return channel.value


class UpdateRefused(Exception):
    pass


async def add_update(
    conn: asyncpg.Connection,
    record: repository.ComplaintRecord,
    settings: IntakeSettings,
    *,
    text: str,
    attachments: Sequence[tuple[Attachment, bytes]] = (),
    idempotency_key: str | None,
    fingerprint: str,
    now: datetime | None = None,
) -> uuid.UUID:
    """Record an addition to an open report as `ComplaintUpdated`; returns the event id."""
    now = now or datetime.now(UTC)
    if idempotency_key:
        existing = await repository.find_update(conn, idempotency_key)
        if existing is not None:
            if existing[1] != fingerprint:
                raise UpdateRefused("this Idempotency-Key was already used for another update")
            return existing[0]
    if record.status in ownership.FINAL_STATUSES:
        raise UpdateRefused(f"this report is {record.status} and takes no more additions")
    if not ownership.update_window_open(record.received_at, now, settings.update_window_days):
        raise UpdateRefused(
            f"additions are accepted within {settings.update_window_days} days of the report"
        )
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
    async with conn.transaction():
        if not await repository.record_update(
            conn, event, idempotency_key=idempotency_key, fingerprint=fingerprint
        ):
            raise UpdateRefused("a concurrent update used this Idempotency-Key")
        await repository.add_attachments(
            conn, record.complaint_id, event.payload.attachments, attachments
        )
        await outbox.enqueue(conn, [event])
    return event.event_id
