"""The citizen's own words are personal data (issue 14): the chronology, an addition's text and
the attachments' filenames are sealed with the reporter's key wherever they are kept, so erasing
the reporter (`Keystore.erase`, as `lapor reporter erase` does) leaves them unreadable in
intake's tables, on the intake topic, in triage's review queue and in routing's case file.

In process, against the real broker and PostgreSQL: intake's filing and addition use cases, its
outbox relay onto the topic, triage's handlers and review queue, routing's handlers and desk.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.events import (
    Attachment,
    Channel,
    ComplaintAccepted,
    ComplaintNeedsReview,
    ComplaintNeedsReviewPayload,
    ComplaintReceived,
    ComplaintUpdated,
    ReasonCode,
    follow_up_ids,
    parse_event,
)
from schemas.personal_data import ERASED, is_sealed
from schemas.topics import COMPLAINTS_INTAKE
from services.intake.adapters import repository as intake_repository
from services.intake.adapters import views as intake_views
from services.intake.domain.complaints import Submission
from services.intake.handlers import follow_ups
from services.intake.handlers.filing import FileComplaint, Filed, file_complaints
from services.intake.settings import IntakeSettings
from services.messaging.database import create_pool, migrate
from services.messaging.kafka import make_producer
from services.messaging.outbox import OutboxRelay
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore
from services.routing.adapters import repository as routing_repository
from services.routing.entrypoints.app import create_app
from services.routing.entrypoints.consumer import HANDLERS
from services.routing.handlers.opening import open_case
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.adapters.repository import ReviewRepository
from services.triage.adapters.views import list_items
from services.triage.domain.duplicates import History
from services.triage.domain.sealing import Keys
from services.triage.handlers import review
from services.triage.handlers.stages import decide, keys_needed
from tests.integration.test_routing_cases import handle
from tests.support import REPO_ROOT

pytestmark = pytest.mark.integration

SERVICES = REPO_ROOT / "services"
ROUTING_SCHEMA = "routing_words_it"
TRIAGE_SCHEMA = "triage_words_it"
NIK, PHONE = "3171016501900009", "+6281311112222"
DESCRIPTION = (
    "Sertifikat tanah keluarga kami di Kampung Rawabelong tidak terbit sejak 2019 padahal"
    " biaya pengukuran di kantor pertanahan sudah lunas dibayar."
)
ADDITION = "Kwitansi pelunasan dari loket Rawabelong terlampir untuk petugas."
FILENAME, ADDED_FILENAME = "denah-rawabelong.pdf", "kwitansi-rawabelong.pdf"
# Words that appear only in the citizen's texts and filenames (no classifier vocabulary).
WORDS = ("Rawabelong", "rawabelong", "Kwitansi", "pelunasan", "denah-", "kwitansi-")


async def _pool(database_url: str, schema: str, service: str) -> asyncpg.Pool:
    pool = await create_pool(database_url, schema, max_size=4)
    await migrate(pool, schema, SERVICES / service / "migrations")
    async with pool.acquire() as conn:
        await Keystore.ensure(conn)
    return pool


@pytest.fixture(scope="module")
async def pools(database_url: str) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    pools = {
        "intake": await _pool(database_url, "intake", "intake"),
        "triage": await _pool(database_url, TRIAGE_SCHEMA, "triage"),
        "routing": await _pool(database_url, ROUTING_SCHEMA, "routing"),
    }
    async with pools["routing"].acquire() as conn:
        if not await conn.fetchval("SELECT true FROM officers WHERE officer_id = 'officer-atr'"):
            await routing_repository.create_officer(conn, "officer-atr", "ATR-BPN", "token-atr")
    yield pools
    for pool in pools.values():
        await pool.close()


@pytest.fixture(scope="module")
async def producer(stack, topics) -> AsyncIterator[AIOKafkaProducer]:  # type: ignore[no-untyped-def]
    producer = make_producer(stack.kafka_bootstrap, "citizen-words-test")
    await producer.start()
    yield producer
    await producer.stop()


async def _file_with_addition(intake: asyncpg.Pool, keys: Keystore) -> Filed:
    document = Attachment(attachment_id=f"a-{uuid.uuid4().hex[:8]}", media_type="application/pdf")
    submission = Submission(
        channel=Channel.WEB,
        name="Ratna Dewi",
        nik=NIK,
        phone=PHONE,
        email=None,
        description=DESCRIPTION,
        attachments=(document.model_copy(update={"filename": FILENAME}),),
    )
    command = FileComplaint(submission, None, None, reporter_limit=False)
    async with intake.acquire() as conn:
        (filed,) = await file_complaints(conn, [command], settings=IntakeSettings(), keys=keys)
        assert isinstance(filed, Filed) and filed.tracking_code
        record = await intake_repository.complaint_record(conn, filed.tracking_code, keys)
        assert record is not None
        added = Attachment(
            attachment_id=f"b-{uuid.uuid4().hex[:8]}",
            media_type="application/pdf",
            filename=ADDED_FILENAME,
        )
        await follow_ups.add_update(
            conn,
            record,
            IntakeSettings(),
            keys=keys,
            text=ADDITION,
            attachments=[(added, b"%PDF-1.4")],
            idempotency_key=None,
            fingerprint="words-test",
        )
    return filed


async def _topic_records(bootstrap: str, complaint_id: uuid.UUID) -> list[bytes]:
    """The raw bytes of this complaint's events, as the intake topic retains them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [
            TopicPartition(COMPLAINTS_INTAKE.name, p) for p in range(COMPLAINTS_INTAKE.partitions)
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        found: list[bytes] = []
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                found += [r.value for r in records if str(complaint_id).encode() in r.value]
        return found
    finally:
        await consumer.stop()


def _unreadable(text: str) -> None:
    for word in WORDS:
        assert word not in text


async def _through_triage(
    triage: asyncpg.Pool, keys: Keystore, received: ComplaintReceived
) -> ComplaintAccepted:
    """Triage's stage 3 as the stream runs it, and the review queue as a reviewer reads it."""

    async def pool() -> asyncpg.Pool:
        return triage

    reader = PersonalDataReader(keys, pool)
    opened = await reader.readable(received)
    assert opened.payload.description == DESCRIPTION
    known = await reader.data_keys(keys_needed(received, opened, History()))
    decision = decide(opened, None, History(), {}, Keys.of(received.payload.description, known))
    assert isinstance(decision, ComplaintAccepted), decision
    needs_review = ComplaintNeedsReview(
        **follow_up_ids(received, "triage", "words-test"),
        payload=ComplaintNeedsReviewPayload(
            tracking_code=received.payload.tracking_code,
            reasons=(ReasonCode(code="test", detail="for the test", score=0.5),),
        ),
    )
    await review.enqueue(ReviewRepository(triage), opened, needs_review, None, sealed=received)
    stored = await triage.fetchval(
        "SELECT description FROM review_items WHERE complaint_id = $1", received.complaint_id
    )
    assert is_sealed(stored)
    _unreadable(stored)
    assert await _reviewers_see(triage, reader, received.complaint_id) == DESCRIPTION
    return decision


async def _reviewers_see(
    triage: asyncpg.Pool, reader: PersonalDataReader, complaint_id: uuid.UUID
) -> str:
    items = await review.shown(reader, await list_items(triage, "open", limit=500))
    (item,) = [item for item in items if item["complaint_id"] == str(complaint_id)]
    return str(item["description"])


async def _desk(routing: asyncpg.Pool, keys: Keystore, case_id: uuid.UUID) -> dict:  # type: ignore[type-arg]
    app = create_app(lambda: routing, lambda: datetime.now(UTC), keys=keys)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://routing"
    ) as client:
        answer = await client.get(
            f"/v1/desk/cases/{case_id}", headers={"Authorization": "Bearer token-atr"}
        )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def _routing_rows(routing: asyncpg.Pool, complaint_id: uuid.UUID) -> str:
    summary = await routing.fetchval(
        "SELECT summary FROM cases WHERE complaint_id = $1", complaint_id
    )
    additions = await routing.fetch(
        "SELECT additional_text, attachments::text AS attachments FROM case_additions"
        " WHERE complaint_id = $1",
        complaint_id,
    )
    assert is_sealed(summary) and additions
    return summary + "".join(a["additional_text"] + a["attachments"] for a in additions)


async def test_erasing_a_reporter_leaves_their_words_unreadable_everywhere(
    pools: dict[str, asyncpg.Pool],
    producer: AIOKafkaProducer,
    stack,  # type: ignore[no-untyped-def]
) -> None:
    keys = Keystore.from_env()
    intake, triage, routing = pools["intake"], pools["triage"], pools["routing"]
    filed = await _file_with_addition(intake, keys)
    assert filed.complaint_id is not None

    # Intake's tables hold ciphertext only.
    raw_intake = await intake.fetchval(
        "SELECT c.details::text || string_agg(coalesce(a.filename, ''), '')"
        " || (SELECT string_agg(additional_text, '') FROM complaint_updates u"
        "     WHERE u.complaint_id = c.complaint_id)"
        " FROM complaints c JOIN complaint_attachments a USING (complaint_id)"
        " WHERE c.complaint_id = $1 GROUP BY c.complaint_id, c.details::text",
        filed.complaint_id,
    )
    _unreadable(raw_intake)

    # The intake topic: both events, sealed.
    relay = OutboxRelay(intake, producer, "intake", "intake")
    while await relay.relay_once():
        pass
    raw = await _topic_records(stack.kafka_bootstrap, filed.complaint_id)
    events = [parse_event(value) for value in raw]
    received = next(e for e in events if isinstance(e, ComplaintReceived))
    updated = next(e for e in events if isinstance(e, ComplaintUpdated))
    for value in raw:
        _unreadable(value.decode())

    # Triage decides on the opened text; the summary and the review queue stay sealed.
    accepted = await _through_triage(triage, keys, received)
    _unreadable(accepted.model_dump_json())

    # Routing's case file: the summary and the addition, sealed; the desk opens them.
    (assigned,) = await handle(routing, open_case, accepted)
    await handle(routing, HANDLERS["ComplaintUpdated"], updated)
    _unreadable(await _routing_rows(routing, filed.complaint_id))
    case_id = assigned.payload.case_id  # type: ignore[attr-defined]
    before = await _desk(routing, keys, case_id)
    assert before["summary"] == DESCRIPTION[:280]
    assert [a["additional_text"] for a in before["additions"]] == [ADDITION]
    assert before["additions"][0]["attachments"][0]["filename"] == ADDED_FILENAME

    # Erase the reporter, as `lapor reporter erase --nik ... --phone ...` does.
    async with intake.acquire() as conn:
        erased = await keys.erase(
            conn, identities=[identity_of(NIK, None, None), identity_of(None, PHONE, None)]
        )
    assert erased

    fresh = Keystore.from_env()  # no cache: what anyone can read from now on
    async with intake.acquire() as conn:
        record = await intake_repository.complaint_record(conn, filed.tracking_code or "", fresh)
        assert record is not None and record.details["description"] is None
        updates = await fresh.open_json(
            conn, await intake_views.updates_of(conn, record.complaint_id)
        )
        files = await fresh.open_json(
            conn, await intake_views.attachments_of(conn, record.complaint_id)
        )
        assert [u["additional_text"] for u in updates] == [None]
        assert {f["filename"] for f in files} == {None}
        for event in events:  # the topic's copies no longer open
            opened = await fresh.open(conn, event)
            _unreadable(opened.model_dump_json())

    async def triage_pool() -> asyncpg.Pool:
        return triage

    erased_reader = PersonalDataReader(fresh, triage_pool)
    assert await _reviewers_see(triage, erased_reader, filed.complaint_id) == ERASED

    after = await _desk(routing, fresh, case_id)
    assert after["summary"] == ERASED
    assert [a["additional_text"] for a in after["additions"]] == [ERASED]
    assert after["additions"][0]["attachments"][0]["filename"] == ERASED
    _unreadable(str(after))
