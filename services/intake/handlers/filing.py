"""Filing complaints: the one use case every channel files through (the JSON API, the web
form, WhatsApp, the walk-in desk and Open311 client applications).

`file_complaints` takes a group of filing commands and, in one transaction with one statement
per table however large the group:
1. finds the idempotency keys already used (those commands are replays of what was filed);
2. applies the per-phone / per-NIK limit to the rest, in order, as if one by one;
3. finds or creates every reporter's data key and seals each complaint with it, so the row,
   the outbox and every topic copy hold only ciphertext; the documents' bytes are sealed
   with the same key (events carry only their reference: id, type, size, sha256);
4. stores the complaints, their timeline entries and attachments, and puts their
   `ComplaintReceived` in the outbox (the use case writes the outbox, never the repository).
A lone filing is a group of one; the web API's group commit (`entrypoints.group_filing`)
hands it many concurrent requests at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from schemas.events import Attachment, ComplaintReceived
from services.intake.adapters import reporter_limits, repository
from services.intake.domain.complaints import Submission, complaint_received, reporter_identity
from services.intake.domain.limits import reporter_subjects
from services.intake.domain.satisfaction import contact_subject
from services.intake.domain.tracking import new_tracking_code
from services.intake.handlers.documents import seal_documents
from services.intake.settings import IntakeSettings
from services.messaging import outbox
from services.personal_data.field_crypto import DataKey, seal_model
from services.personal_data.keystore import Keystore


@dataclass(frozen=True)
class FileComplaint:
    """One complaint to file, as a channel hands it in."""

    submission: Submission
    idempotency_key: str | None
    fingerprint: str | None
    # The documents' plain bytes (checked: `domain.documents`); sealed here with the
    # reporter's data key, never stored or published in the clear.
    uploads: Sequence[tuple[Attachment, bytes]] = ()
    officer_id: str | None = None  # the desk officer who took it
    # Drawn by the caller when its replies already name them (WhatsApp); else drawn here.
    complaint_id: uuid.UUID | None = None
    tracking_code: str | None = None
    # The per-reporter limit counts this phone (the sender's) rather than the reporter's.
    limited_phone: str | None = None
    # The desk's booking quota limits walk-ins instead.
    reporter_limit: bool = True
    # Open311: the client application that filed it and the service_code it chose.
    client_app: str | None = None
    service_code: str | None = None


@dataclass(frozen=True)
class Filed:
    tracking_code: str | None  # None: the idempotency key belongs to a different complaint
    complaint_id: uuid.UUID | None
    replayed: bool


RetryAfterSeconds = float  # a per-reporter limit refused it: seconds until there is room
FilingOutcome = Filed | RetryAfterSeconds


class ComplaintNotStored(RuntimeError):
    """A clash (a tracking code drawn twice) stored nothing and no idempotent twin exists."""


async def file_complaints(
    conn: asyncpg.Connection,
    commands: Sequence[FileComplaint],
    *,
    settings: IntakeSettings,
    keys: Keystore,
    now: datetime | None = None,
) -> list[FilingOutcome]:
    """File every command (see the module docstring); one outcome per command, in order.
    Two commands of one group must not share an idempotency key."""
    received_at = now or datetime.now(UTC)
    outcomes: list[FilingOutcome | None] = [None] * len(commands)
    async with conn.transaction():
        fresh = await _replays(conn, commands, outcomes)
        admitted = await _admitted(conn, commands, fresh, outcomes, settings)
        events = {
            index: complaint_received(
                commands[index].submission,
                commands[index].complaint_id or uuid.uuid4(),
                commands[index].tracking_code or new_tracking_code(),
                received_at,
            )
            for index in admitted
        }
        data_keys = await _data_keys(conn, keys, [commands[i].submission for i in admitted])
        for index, key in zip(admitted, data_keys, strict=True):
            events[index] = seal_model(events[index], key)
        stored = await repository.record_complaints(
            conn,
            [
                _new_complaint(commands[i], events[i], key, settings)
                for i, key in zip(admitted, data_keys, strict=True)
            ],
        )
        for index in admitted:
            if events[index].complaint_id in stored:
                event = events[index]
                outcomes[index] = Filed(event.payload.tracking_code, event.complaint_id, False)
        await outbox.enqueue(conn, [events[i] for i in admitted if outcomes[i] is not None])
        await _twins_filed_meanwhile(conn, commands, admitted, outcomes)
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


async def _replays(
    conn: asyncpg.Connection,
    commands: Sequence[FileComplaint],
    outcomes: list[FilingOutcome | None],
) -> list[int]:
    """Answer the commands whose idempotency key was used already; the others' indexes."""
    existing = await repository.find_by_idempotency_keys(
        conn, [c.idempotency_key for c in commands if c.idempotency_key]
    )
    fresh = []
    for index, command in enumerate(commands):
        stored = existing.get(command.idempotency_key or "")
        if stored is None:
            fresh.append(index)
        else:
            outcomes[index] = replay(stored, command.fingerprint)
    return fresh


def replay(existing: repository.StoredComplaint, fingerprint: str | None) -> Filed:
    if existing.request_fingerprint != fingerprint:
        return Filed(None, None, replayed=True)
    return Filed(existing.tracking_code, existing.complaint_id, replayed=True)


async def _admitted(
    conn: asyncpg.Connection,
    commands: Sequence[FileComplaint],
    fresh: list[int],
    outcomes: list[FilingOutcome | None],
    settings: IntakeSettings,
) -> list[int]:
    """Apply the per-reporter limit; the indexes it admits."""
    waits = await reporter_limits.admit_many(
        conn,
        reporter_limits.COMPLAINT,
        [_limit_subjects(commands[index], settings) for index in fresh],
        settings.complaints_per_reporter_per_hour,
    )
    admitted = []
    for index, wait in zip(fresh, waits, strict=True):
        if wait > 0:
            outcomes[index] = wait
        else:
            admitted.append(index)
    return admitted


def _limit_subjects(command: FileComplaint, settings: IntakeSettings) -> list[str]:
    if not command.reporter_limit:
        return []
    return reporter_subjects(
        settings.reporter_hash_key,
        phone=command.limited_phone or command.submission.phone,
        nik=command.submission.nik,
    )


async def _data_keys(
    conn: asyncpg.Connection, keys: Keystore, submissions: Sequence[Submission]
) -> list[DataKey]:
    """Each reporter's data key: one lookup for the whole group. A submission without NIK,
    phone or email gets a key of its own."""
    identities = [reporter_identity(submission) for submission in submissions]
    named = [identity for identity in identities if identity]
    known = await keys.keys_for(conn, named) if named else {}
    return [
        known[identity] if identity else await keys.key_for(conn, None) for identity in identities
    ]


def _new_complaint(
    command: FileComplaint, event: ComplaintReceived, key: DataKey, settings: IntakeSettings
) -> repository.NewComplaint:
    phone = command.submission.phone or command.limited_phone
    return repository.NewComplaint(
        event=event,
        idempotency_key=command.idempotency_key,
        fingerprint=command.fingerprint,
        officer_id=command.officer_id,
        documents=seal_documents(key, command.uploads),
        contact_subject=contact_subject(settings.reporter_hash_key, phone) if phone else None,
        client_app=command.client_app,
        service_code=command.service_code,
    )


async def _twins_filed_meanwhile(
    conn: asyncpg.Connection,
    commands: Sequence[FileComplaint],
    admitted: list[int],
    outcomes: list[FilingOutcome | None],
) -> None:
    """A command not stored lost a race to a concurrent double-submit with the same key
    (committed by now, so this transaction sees it): it becomes that one's replay."""
    unstored = [index for index in admitted if outcomes[index] is None]
    if not unstored:
        return
    twins = await repository.find_by_idempotency_keys(
        conn, [commands[i].idempotency_key or "" for i in unstored]
    )
    for index in unstored:
        twin = twins.get(commands[index].idempotency_key or "")
        if twin is None:
            raise ComplaintNotStored("complaint was not stored and no idempotent twin exists")
        outcomes[index] = replay(twin, commands[index].fingerprint)
