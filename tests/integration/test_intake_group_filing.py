"""Group commit of web filings against the real PostgreSQL: concurrent requests are filed
together and each one is stored, sealed, published and limited exactly as if it had been
filed alone."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from schemas.events import Channel
from services.intake.domain.complaints import Submission
from services.intake.entrypoints.group_filing import GroupFiler
from services.intake.handlers.filing import FileComplaint, Filed
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import default_keystore

pytestmark = pytest.mark.integration

_serials = itertools.count(1)


def submission() -> Submission:
    n = next(_serials)
    return Submission(
        channel=Channel.WEB,
        name=f"Warga {n}",
        nik=f"317101{1 + n // 9999 % 28:02d}0190{n % 9999 + 1:04d}",
        phone=f"+62812{60_000_000 + n:08d}",
        email=None,
        description=f"Laporan {n}: bantuan sosial keluarga kami dihentikan sejak Maret.",
    )


@pytest.fixture(scope="module")
def pool(intake_pool: asyncpg.Pool) -> asyncpg.Pool:
    return intake_pool


@pytest.fixture
async def running(pool: asyncpg.Pool) -> AsyncIterator[GroupFiler]:
    filer = GroupFiler(
        lambda: pool, IntakeSettings(complaints_per_reporter_per_hour=3), default_keystore()
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(filer.run(stop))
    await asyncio.sleep(0)
    assert filer.running
    yield filer
    stop.set()
    await loop


async def file(
    filer: GroupFiler, item: Submission, key: str | None = None, fp: str = "f"
) -> object:
    return await filer.file(FileComplaint(item, idempotency_key=key, fingerprint=fp))


async def test_concurrent_filings_share_commits_and_each_is_stored_sealed_and_published(
    running: GroupFiler, pool: asyncpg.Pool
) -> None:
    items = [submission() for _ in range(60)]
    answers = await asyncio.gather(*(file(running, item) for item in items))

    assert all(isinstance(answer, Filed) and not answer.replayed for answer in answers)
    filed = [answer for answer in answers if isinstance(answer, Filed)]
    ids = [answer.complaint_id for answer in filed]
    assert len({answer.tracking_code for answer in filed}) == 60
    assert running.batches < 30, "the filings were not grouped"
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT complaint_id, tracking_code, contact_phone, details::text AS details"
            " FROM complaints WHERE complaint_id = ANY($1::uuid[])",
            ids,
        )
        timeline = await conn.fetchval(
            "SELECT count(*) FROM complaint_timeline WHERE complaint_id = ANY($1::uuid[])"
            " AND event_type = 'ComplaintReceived'",
            ids,
        )
        published = await conn.fetch(
            "SELECT key, payload FROM outbox WHERE key = ANY($1::bytea[])",
            [str(complaint_id).encode() for complaint_id in ids],
        )
    assert len(rows) == 60 and timeline == 60 and len(published) == 60
    by_id = {row["complaint_id"]: row for row in rows}
    for answer, item in zip(filed, items, strict=True):
        row = by_id[answer.complaint_id]
        assert row["tracking_code"] == answer.tracking_code
        assert row["contact_phone"].startswith("pd1:")  # sealed, never in the clear
        assert item.nik not in row["details"] and item.name not in row["details"]
    for record in published:
        assert b"ComplaintReceived" in record["payload"] and b"pd1:" in record["payload"]


async def test_one_idempotency_key_in_one_batch_files_once_and_replays_the_rest(
    running: GroupFiler, pool: asyncpg.Pool
) -> None:
    item = submission()
    same, other = await asyncio.gather(
        asyncio.gather(*(file(running, item, key="retry-1") for _ in range(3))),
        file(running, submission(), key="retry-1", fp="different body"),
    )
    filed = [answer for answer in same if isinstance(answer, Filed)]
    assert len(filed) == 3 and len({answer.tracking_code for answer in filed}) == 1
    assert sum(not answer.replayed for answer in filed) == 1
    assert isinstance(other, Filed) and other.tracking_code is None  # key reused, other body
    async with pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM complaints WHERE idempotency_key = 'retry-1'"
        )
    assert stored == 1


async def test_the_reporter_limit_holds_inside_one_batch(
    running: GroupFiler, pool: asyncpg.Pool
) -> None:
    first = submission()
    same_reporter = [replace(first, description=f"{first.description} ({n})") for n in range(5)]
    answers = await asyncio.gather(*(file(running, item) for item in same_reporter))

    filed = [answer for answer in answers if isinstance(answer, Filed)]
    waits = [answer for answer in answers if isinstance(answer, float)]
    assert len(filed) == 3 and len(waits) == 2  # 3 per hour in this fixture
    assert all(wait > 0 for wait in waits)
    async with pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM complaints WHERE complaint_id = ANY($1::uuid[])",
            [answer.complaint_id for answer in filed],
        )
    assert stored == 3
    # A later request from the same reporter is refused too, on the one-by-one path as well.
    alone = GroupFiler(
        lambda: pool, IntakeSettings(complaints_per_reporter_per_hour=3), default_keystore()
    )
    later = await file(alone, replace(first, description=first.description + "!"))
    assert isinstance(later, float) and later > 0
