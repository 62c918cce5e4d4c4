"""Routing cases with a whole case file for the back office's agency pages' tests: intake's
ComplaintReceived (personal fields sealed with the reporter's key, a document) kept by
routing's case-file handler, then triage's ComplaintAccepted opening the case, both straight
through routing's handlers against the database (no Kafka)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Location,
    Priority,
    Reporter,
)
from schemas.events.base import Attachment
from services.messaging import outbox
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore
from services.routing.handlers.case_file import keep_case_file
from services.routing.handlers.opening import open_case

NAME, PHONE, EMAIL = "Siti Aminah", "+6281234567890", "siti@contoh.id"
ADDRESS = "Jl. Kenanga 7, Menteng"
DESCRIPTION = "Sertifikat tanah saya tidak terbit sejak 2019 padahal biaya di kantor BPN lunas."


@dataclass(frozen=True)
class Case:
    case_id: uuid.UUID
    agency_code: str
    tracking_code: str


async def a_case_file(
    conn: asyncpg.Connection,
    keys: Keystore,
    filed: datetime,
    *,
    anonymous: bool = False,
    secret: bool = False,
    nik: str = "3171015501900001",
) -> Case:
    """A land complaint in Jakarta Pusat (31.71) with a receipt photo, as a routed case."""
    await Keystore.ensure(conn)
    complaint_id = uuid.uuid4()
    code = f"LPR-{complaint_id.hex[:4].upper()}-AGEN-CYP"
    received = ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        occurred_at=filed,
        payload=ComplaintReceivedPayload(
            tracking_code=code,
            channel=Channel.WEB,
            reporter=Reporter(name=NAME, nik=nik, phone=PHONE, email=EMAIL),
            description=DESCRIPTION,
            location=Location(
                region_code="31.71",
                city="Kota Jakarta Pusat",
                address=ADDRESS,
                latitude=-6.19,
                longitude=106.83,
            ),
            attachments=(
                Attachment(
                    attachment_id="att-kwitansi",
                    media_type="image/jpeg",
                    filename="kwitansi.jpg",
                    size_bytes=4096,
                ),
            ),
            anonymous=anonymous,
            secret=secret,
            received_at=filed,
        ),
    )
    sealed = await keys.seal(conn, received, identity=identity_of(nik, PHONE, None))
    accepted = ComplaintAccepted(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        causation_id=received.event_id,
        producer="triage",
        occurred_at=filed + timedelta(minutes=5),
        payload=ComplaintAcceptedPayload(
            tracking_code=code,
            channel=Channel.WEB,
            category=Category.LAND,
            priority=Priority.NORMAL,
            region_code="31.71",
            summary="Sertifikat tanah tidak terbit",
            secret=secret,
        ),
    )
    async with conn.transaction():
        await keep_case_file(sealed, conn)
        events = await open_case(accepted, conn)
        await outbox.enqueue(conn, events)
    payload = events[0].payload
    return Case(payload.case_id, payload.agency_code, code)  # type: ignore[attr-defined]
