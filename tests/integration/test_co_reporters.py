"""Co-reporters (issue 14) against the real PostgreSQL server: two complaints, the second a
duplicate that routing joins to the first's case (the real `CaseReporterJoined`); the case's
closing, keyed by the first complaint, reaches both of intake's read models and both reporters
get exactly one closing message each, also when events are replayed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintDuplicateDetected,
    ComplaintDuplicateDetectedPayload,
    ComplaintReceived,
    ComplaintReceivedPayload,
    Event,
    EventEnvelope,
    Language,
    Priority,
    Reporter,
)
from schemas.events.routing import (
    CaseReporterJoined,
    CaseStatus,
    CaseStatusChanged,
    CaseStatusChangedPayload,
)
from services.intake.handlers import statuses as intake
from services.messaging import outbox
from services.messaging.database import create_pool, migrate
from services.notifier.entrypoints.consumer import event_handlers
from services.personal_data.keystore import default_keystore
from services.routing.handlers.opening import join_duplicate, open_case

pytestmark = pytest.mark.integration
SERVICES = Path(__file__).resolve().parents[2] / "services"
NOTIFIER = event_handlers(default_keystore())
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
async def pools(database_url: str) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    pools = {}
    for service in ("routing", "intake", "notifier"):
        pools[service] = await create_pool(database_url, f"{service}_co")
        await migrate(pools[service], f"{service}_co", SERVICES / service / "migrations")
    yield pools
    for pool in pools.values():
        await pool.close()


async def run(pool: asyncpg.Pool, handler, event: Event) -> list[EventEnvelope]:  # type: ignore[no-untyped-def]
    """One handler call as the consumer loop makes it: one transaction, events to the outbox."""
    async with pool.acquire() as conn, conn.transaction():
        out = list(await handler(event, conn) or ())
        await outbox.enqueue(conn, out)
    return out


def received(channel: Channel, phone: str | None, email: str | None, lang: Language) -> Event:
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        occurred_at=NOW,
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:4].upper()}-CORE-AAA",
            channel=channel,
            reporter=Reporter(name="Warga", phone=phone, email=email, language=lang),
            description="Jalan desa rusak parah sejak banjir",
            received_at=NOW,
        ),
    )


async def file(pools: dict[str, asyncpg.Pool], event: ComplaintReceived) -> None:
    """The complaint as intake stored it (its read model row) and as the notifier knows it."""
    await pools["intake"].execute(
        "INSERT INTO complaints (complaint_id, tracking_code, channel, received_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $4)",
        event.complaint_id,
        event.payload.tracking_code,
        event.payload.channel.value,
        NOW,
    )
    await run(pools["notifier"], NOTIFIER["ComplaintReceived"], event)


def accepted(original: ComplaintReceived) -> ComplaintAccepted:
    return ComplaintAccepted(
        complaint_id=original.complaint_id,
        correlation_id=original.complaint_id,
        producer="triage",
        occurred_at=NOW,
        payload=ComplaintAcceptedPayload(
            tracking_code=original.payload.tracking_code,
            channel=original.payload.channel,
            category=Category.INFRASTRUCTURE,
            priority=Priority.NORMAL,
            region_code="31.71",
            summary="Jalan desa rusak",
        ),
    )


def duplicate(of: ComplaintReceived, dup: ComplaintReceived) -> ComplaintDuplicateDetected:
    return ComplaintDuplicateDetected(
        complaint_id=dup.complaint_id,
        correlation_id=dup.complaint_id,
        producer="triage",
        occurred_at=NOW,
        payload=ComplaintDuplicateDetectedPayload(
            tracking_code=dup.payload.tracking_code,
            original_complaint_id=of.complaint_id,
            original_tracking_code=of.payload.tracking_code,
            similarity=0.95,
        ),
    )


def case_changed(
    joined: CaseReporterJoined, original: ComplaintReceived, status: CaseStatus, at: datetime
) -> CaseStatusChanged:
    """As routing publishes it: keyed by the case's own complaint."""
    return CaseStatusChanged(
        complaint_id=original.complaint_id,
        correlation_id=original.complaint_id,
        producer="routing",
        occurred_at=at,
        payload=CaseStatusChangedPayload(
            case_id=joined.payload.case_id,
            tracking_code=original.payload.tracking_code,
            previous_status=CaseStatus.RESPONDED,
            status=status,
            actor="officer-1",
            agency_code=joined.payload.agency_code,
            agency_name=joined.payload.agency_name,
            note="Jalan sudah diperbaiki.",
        ),
    )


async def status_of(pools: dict[str, asyncpg.Pool], event: Event) -> tuple[str, str | None]:
    row = await pools["intake"].fetchrow(
        "SELECT status, agency_name FROM complaints WHERE complaint_id = $1", event.complaint_id
    )
    return row["status"], row["agency_name"]


async def messages(pools: dict[str, asyncpg.Pool], event: Event) -> list[tuple[str, ...]]:
    rows = await pools["notifier"].fetch(
        "SELECT template, channel, language, tracking_code FROM notifications"
        " WHERE complaint_id = $1 ORDER BY created_at, template",
        event.complaint_id,
    )
    return [tuple(row) for row in rows]


async def to_intake(pools: dict[str, asyncpg.Pool], events: Sequence[Event]) -> None:
    async with pools["intake"].acquire() as conn, conn.transaction():
        await intake.update_statuses(list(events), conn)


async def test_two_co_reporters_follow_the_case_and_each_hears_the_closing_once(
    pools: dict[str, asyncpg.Pool],
) -> None:
    original = received(Channel.WEB, "+6281200000001", None, Language.INDONESIAN)
    first_co = received(Channel.WHATSAPP, "+6281200000002", None, Language.ENGLISH)
    second_co = received(Channel.WEB, None, "warga@example.id", Language.INDONESIAN)
    for event in (original, first_co, second_co):
        await file(pools, event)

    (assigned,) = await run(pools["routing"], open_case, accepted(original))
    joins: list[CaseReporterJoined] = []
    for co in (first_co, second_co):
        (joined,) = await run(pools["routing"], join_duplicate, duplicate(original, co))
        assert isinstance(joined, CaseReporterJoined)
        assert joined.complaint_id == co.complaint_id
        assert joined.payload.original_complaint_id == original.complaint_id
        joins.append(joined)

    # Intake: the original's case is assigned; each co-reporter takes that status on joining.
    await to_intake(pools, [assigned, *joins])
    for co in (first_co, second_co):
        assert await status_of(pools, co) == ("forwarded_to_agency", assigned.payload.agency_name)
    for joined in joins:
        await run(pools["notifier"], NOTIFIER["CaseReporterJoined"], joined)
    await run(pools["notifier"], NOTIFIER["CaseAssigned"], assigned)

    closing = case_changed(joins[0], original, CaseStatus.CLOSED, NOW + timedelta(days=5))
    for _ in range(2):  # a replay changes nothing
        await to_intake(pools, [closing])
        await run(pools["notifier"], NOTIFIER["CaseStatusChanged"], closing)

    for event in (original, first_co, second_co):
        assert (await status_of(pools, event))[0] == "closed"
        closed = await pools["intake"].fetchval(
            "SELECT count(*) FROM complaint_timeline WHERE complaint_id = $1"
            " AND event_type = 'CaseStatusChanged' AND status = 'closed'",
            event.complaint_id,
        )
        assert closed == 1

    code = original.payload.tracking_code
    assert await messages(pools, original) == [
        ("received", "sms", "id", code),
        ("assigned", "sms", "id", code),
        ("closed", "sms", "id", code),
    ]
    first_code, second_code = first_co.payload.tracking_code, second_co.payload.tracking_code
    # A WhatsApp reporter's one receipt is the conversation's reply, not the notifier's.
    assert await messages(pools, first_co) == [
        ("joined", "whatsapp", "en", first_code),
        ("closed", "whatsapp", "en", first_code),
    ]
    assert await messages(pools, second_co) == [
        ("received", "email", "id", second_code),
        ("joined", "email", "id", second_code),
        ("closed", "email", "id", second_code),
    ]
    # The case's assignment came before their join: not told again. The closing names their
    # own code and keeps the case's.
    context = await pools["notifier"].fetchval(
        "SELECT context FROM notifications WHERE complaint_id = $1 AND template = 'closed'",
        second_co.complaint_id,
    )
    assert f'"tracking_code": "{second_code}"' in context
    assert f'"case_tracking_code": "{code}"' in context


async def test_a_co_reporter_joining_after_the_case_moved_on_takes_its_current_status(
    pools: dict[str, asyncpg.Pool],
) -> None:
    """Topics' partitions are not ordered with each other: intake may apply the case's later
    events to the original before it sees the join, which then copies the original's status."""
    original = received(Channel.WEB, "+6281200000011", None, Language.INDONESIAN)
    co = received(Channel.WEB, "+6281200000012", None, Language.INDONESIAN)
    for event in (original, co):
        await file(pools, event)
    (assigned,) = await run(pools["routing"], open_case, accepted(original))
    (joined,) = await run(pools["routing"], join_duplicate, duplicate(original, co))
    assert isinstance(joined, CaseReporterJoined)
    in_progress = case_changed(joined, original, CaseStatus.IN_PROGRESS, NOW + timedelta(days=1))
    await to_intake(pools, [assigned, in_progress])
    await to_intake(pools, [joined])
    assert (await status_of(pools, co))[0] == "in_progress"
    # and later events still follow
    closing = case_changed(joined, original, CaseStatus.CLOSED, NOW + timedelta(days=2))
    await to_intake(pools, [closing])
    assert (await status_of(pools, co))[0] == "closed"
