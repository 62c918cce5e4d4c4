"""Triage's one-pass batches against the real PostgreSQL tables (`adapters.state`): two batch
handlers racing near duplicates of one area on separate connections never both accept,
complaints meet the earlier ones of their own batch, a redelivered complaint re-emits its
decision (same event id) through the outbox, a reviewer's ban is read by the next batch, the
daily limit counts across batches, and sealed complaints are opened with one key store query."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from schemas.events import (
    ComplaintReceived,
    EventEnvelope,
    parse_event,
)
from services.messaging.database import create_pool, migrate
from services.personal_data.field_crypto import seal_model
from services.personal_data.keystore import Keystore
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.adapters.repository import ReviewRepository
from services.triage.adapters.state import TriageState
from services.triage.domain.duplicates import DAILY_LIMIT_PER_REPORTER
from services.triage.handlers import review
from services.triage.handlers.batch import triage_batch
from services.triage.settings import DB_SCHEMA
from tests.support import received_event

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "triage" / "migrations"
SECRET = b"state-test-key"
BRIDGE = (
    "Jembatan penghubung dua desa di Kecamatan {place} retak parah dan bergoyang setiap kali"
    " dilewati mobil, warga takut melintas."
)
BRIDGE_AGAIN = (
    "Jembatan antar desa di {place} sudah retak parah, bergoyang kalau dilewati mobil dan warga"
    " jadi takut lewat."
)


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, DB_SCHEMA, max_size=8)
    await migrate(pool, DB_SCHEMA, MIGRATIONS)
    async with pool.acquire() as conn:
        await Keystore.ensure(conn)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def keys() -> Keystore:
    return Keystore.from_env()


@pytest.fixture(scope="module")
def reader(pool: asyncpg.Pool, keys: Keystore) -> PersonalDataReader:
    async def open_pool() -> asyncpg.Pool:
        return pool

    return PersonalDataReader(keys, open_pool)


def complaint(text: str, nik: str, region: str = "32.73") -> ComplaintReceived:
    return received_event(text, nik, region)


def nik(serial: int) -> str:
    return f"32730115019{serial % 10}{serial:04d}"


async def run(
    pool: asyncpg.Pool, reader: PersonalDataReader, events: list[ComplaintReceived]
) -> list[EventEnvelope]:
    async with pool.acquire() as conn:
        outcome = await triage_batch(conn, reader, SECRET, events)
    assert not outcome.failed
    return [item.decision for item in outcome.triaged]


async def outbox_events(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list[EventEnvelope]:
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    events = [parse_event(row["payload"]) for row in rows]
    return [event for event in events if event.complaint_id == complaint_id]


async def _race(
    pool: asyncpg.Pool, reader: PersonalDataReader, region: str, serial: int
) -> list[str]:
    """Two batch handlers on two connections decide near duplicates of one area at once."""
    first = complaint(BRIDGE.format(place="Cibiru"), nik(serial), region)
    second = complaint(BRIDGE_AGAIN.format(place="Cibiru"), nik(serial + 1), region)
    decided = await asyncio.gather(run(pool, reader, [first]), run(pool, reader, [second]))
    return sorted(batch[0].event_type for batch in decided)


async def test_two_handlers_racing_near_duplicates_of_one_area_never_both_accept(
    pool: asyncpg.Pool, reader: PersonalDataReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each round in an area of its own (a regency of Jakarta or Bandung Raya).
    areas = ["31.71", "31.72", "31.73", "31.74", "31.75", "32.04", "32.17", "32.77"]
    for index, region in enumerate(areas[:5]):
        outcome = await _race(pool, reader, region, 10 + index * 2)
        assert outcome == ["ComplaintAccepted", "ComplaintDuplicateDetected"], outcome
    # The control: without the area locks the same race does accept both (so the test above
    # can fail), at least once in three rounds.

    async def no_locks(self: TriageState, *_: object) -> None:
        return None

    monkeypatch.setattr(TriageState, "lock", no_locks)
    unlocked = [await _race(pool, reader, area, 40 + i * 2) for i, area in enumerate(areas[5:])]
    assert ["ComplaintAccepted", "ComplaintAccepted"] in unlocked, unlocked


async def test_a_batch_meets_its_own_earlier_complaints_and_a_replay_re_emits_the_same_event(
    pool: asyncpg.Pool, reader: PersonalDataReader
) -> None:
    original = complaint(BRIDGE.format(place="Cibiru"), nik(100))
    repeat = complaint(BRIDGE.format(place="Cibiru"), nik(100))
    paraphrase = complaint(BRIDGE_AGAIN.format(place="Cibiru"), nik(101))
    decided = await run(pool, reader, [original, repeat, paraphrase, original])
    assert [event.event_type for event in decided] == [
        "ComplaintAccepted",
        "ComplaintDuplicateDetected",
        "ComplaintDuplicateDetected",
        "ComplaintAccepted",
    ]
    assert decided[1].payload.match == "exact"  # type: ignore[attr-defined]
    assert decided[2].payload.match == "near"  # type: ignore[attr-defined]
    for duplicate in decided[1:3]:
        assert duplicate.payload.original_complaint_id == original.complaint_id  # type: ignore[attr-defined]
    assert decided[3].event_id == decided[0].event_id  # redelivered inside the batch
    assert len(await outbox_events(pool, original.complaint_id)) == 1
    await pool.execute("DELETE FROM outbox")  # as the relay does once published

    again = await run(pool, reader, [paraphrase, original])  # redelivered in a later batch
    assert [event.event_id for event in again] == [decided[2].event_id, decided[0].event_id]
    assert [e.event_id for e in await outbox_events(pool, original.complaint_id)] == [
        decided[0].event_id
    ]
    stored = await pool.fetchval(
        "SELECT count(*) FROM decisions WHERE complaint_id = ANY($1::uuid[])",
        [original.complaint_id, repeat.complaint_id, paraphrase.complaint_id],
    )
    assert stored == 3
    candidates = await pool.fetchval(
        "SELECT count(*) FROM area_candidates WHERE complaint_id = $1", original.complaint_id
    )
    assert candidates == 1


async def test_a_reviewers_ban_written_in_postgres_is_read_by_the_next_batch(
    pool: asyncpg.Pool, reader: PersonalDataReader
) -> None:
    grey = complaint(
        "Pungutan liar oleh petugas loket terminal bus setiap pagi tanpa tanda terima,"
        " sudah pernah saya laporkan ke dinas.",
        nik(200),
        region="33.74",
    )
    grey = grey.model_copy(
        update={
            "payload": grey.payload.model_copy(
                update={
                    "eligibility": grey.payload.eligibility.model_copy(
                        update={"filed_before": True}
                    )
                }
            )
        }
    )
    (queued,) = await run(pool, reader, [grey])
    assert queued.event_type == "ComplaintNeedsReview"
    repository = ReviewRepository(pool)
    await review.ban(repository, str(grey.complaint_id), "alice", True, "laporan palsu")
    later = complaint(
        "Saluran air di depan pasar kecamatan tersumbat sampah dan meluap ke jalan setiap"
        " kali hujan deras turun sore hari.",
        nik(200),
        region="33.74",
    )
    (rejected,) = await run(pool, reader, [later])
    assert rejected.event_type == "ComplaintRejected"
    assert "reporter_banned" in {r.code for r in rejected.payload.reasons}  # type: ignore[attr-defined]
    await review.ban(repository, str(grey.complaint_id), "alice", False, "")
    after = complaint(later.payload.description.replace("pasar", "terminal"), nik(200), "33.74")
    (accepted,) = await run(pool, reader, [after])
    assert accepted.event_type == "ComplaintAccepted"
    actions = await pool.fetch(
        "SELECT action FROM review_log WHERE complaint_id = $1 ORDER BY id", grey.complaint_id
    )
    assert [row["action"] for row in actions] == ["ban", "unban"]


async def test_the_daily_limit_counts_across_batches_and_sealed_complaints_open_once(
    pool: asyncpg.Pool, reader: PersonalDataReader, keys: Keystore
) -> None:
    async with pool.acquire() as conn:
        key = (await keys.keys_for(conn, ["nik:3273011501900300"]))["nik:3273011501900300"]
    events = [
        seal_model(
            complaint(
                f"Sampah di pasar blok {chr(65 + i)} menumpuk dan bau sudah {i + 2} minggu"
                f" tanpa diangkut petugas kebersihan nomor {i * 13}",
                nik(300),
                region="35.78",
            ),
            key,
        )
        for i in range(DAILY_LIMIT_PER_REPORTER + 1)
    ]
    first = await run(pool, reader, events[:3])
    rest = await run(pool, reader, events[3:])
    assert "ComplaintNeedsReview" not in {event.event_type for event in first + rest[:-1]}
    assert rest[-1].event_type == "ComplaintNeedsReview"
    assert "rate_limited" in {r.code for r in rest[-1].payload.reasons}  # type: ignore[attr-defined]
    replay = await run(pool, reader, events)  # counted once each
    assert [event.event_id for event in replay] == [event.event_id for event in first + rest]
    item = await pool.fetchrow(
        "SELECT description, reporter_key FROM review_items WHERE complaint_id = $1",
        events[-1].complaint_id,
    )
    assert item["description"] == events[-1].payload.description  # kept sealed
    assert item["reporter_key"] is not None
