"""Intake's sharded WhatsApp inbox against the real PostgreSQL: two instances' workers (each
an `InboxWorker` with several tasks) work off an interleaved flood from many senders, one
worker is killed mid-batch (its connection terminated while it holds a shard), and still
every message is handled exactly once and each sender's messages in the order they came.
And the webhook's group commit that fills the inbox."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.whatsapp_flood import nik_for
from services.intake.adapters.whatsapp_inbox import sender_of, store_messages
from services.intake.domain.whatsapp import InboundMessage, WebhookBatch
from services.intake.entrypoints.inbox_worker import InboxWorker
from services.intake.entrypoints.whatsapp_webhook import NotificationStore
from services.intake.handlers import whatsapp
from services.intake.settings import IntakeSettings
from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import Keystore, default_keystore
from tests.support import eventually

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "intake" / "migrations"
SENDERS = 40
SENDERS_IN_A_ROW = 4
TURNS = 6
REPORT_TURN = 2
KILL_AT_CALL_IN_BATCH = 3  # the worker is killed after handling two messages of its batch


@pytest.fixture(scope="module")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "intake", max_size=12)
    await migrate(pool, "intake", MIGRATIONS)
    async with pool.acquire() as conn:
        await Keystore.ensure(conn)  # as the service runtime does at start
        # What the test counts: one row per handling that committed, in handling order.
        await conn.execute(
            "CREATE TABLE handled (seq bigserial PRIMARY KEY, message_id text NOT NULL,"
            " sender text NOT NULL)"
        )
    yield pool
    await pool.close()


def text(sender: int, turn: int) -> str:
    """A greeting, a name, then a one-message report, then more words."""
    if turn == REPORT_TURN:
        return (
            f"LAPOR#Warga Shard {sender}#{nik_for(sender)}#Jakarta Pusat#Jalan di depan rumah"
            f" nomor {sender} berlubang sejak bulan lalu dan membahayakan pengendara."
        )
    return "halo" if turn == 0 else f"Warga {sender} pesan {turn}"


def message(run: str, sender: int, turn: int) -> InboundMessage:
    return InboundMessage.model_validate(
        {
            "message_id": f"wamid.shards.{run}.{sender}.{turn}",
            "wa_id": f"62815{sender:08d}",
            "sent_at": "2026-11-23T10:00:00Z",
            "kind": "text",
            "text": text(sender, turn),
        }
    )


def interleaved_flood(run: str) -> list[InboundMessage]:
    """Every sender's turn 0, then every sender's turn 1, ... (consecutive messages come from
    different senders), with a few senders' turns all in a row in the middle (one sender's
    messages in one batch, a report followed by more)."""
    spread = [message(run, sender, turn) for turn in range(TURNS) for sender in range(SENDERS)]
    in_a_row = [
        message(run, sender, turn)
        for sender in range(SENDERS, SENDERS + SENDERS_IN_A_ROW)
        for turn in range(TURNS)
    ]
    middle = len(spread) // 2
    return spread[:middle] + in_a_row + spread[middle:]


class KillMidBatch:
    """Wraps the handling of one inbox message: records each handling in `handled` within
    the batch's transaction, and stops the first worker that reaches its batch's
    `KILL_AT_CALL_IN_BATCH`-th message until the test has terminated its connection."""

    def __init__(self) -> None:
        self.real = whatsapp._handle
        self.calls: list[tuple[int, str]] = []  # (batch, message ref), rolled back or not
        self.per_batch: dict[int, int] = defaultdict(int)
        self.batches: list[Any] = []  # kept alive, so no two batches share an id()
        self.stopped = asyncio.Event()
        self.killed = asyncio.Event()
        self.victim: tuple[int, int] | None = None  # (batch, backend pid)

    async def __call__(
        self, conn: asyncpg.Connection, batch: Any, row: asyncpg.Record, *rest: Any
    ) -> str:
        self.batches.append(batch)
        self.calls.append((id(batch), row["message_id"]))
        self.per_batch[id(batch)] += 1
        if self.victim is None and self.per_batch[id(batch)] == KILL_AT_CALL_IN_BATCH:
            self.victim = (id(batch), conn.get_server_pid())
            self.stopped.set()
            await self.killed.wait()  # resumes on a connection that is gone
        outcome = await self.real(conn, batch, row, *rest)
        await conn.execute(
            "INSERT INTO handled (message_id, sender) VALUES ($1, $2)",
            row["message_id"],
            row["sender"],
        )
        return outcome


async def test_two_instances_work_off_a_flood_exactly_once_in_order_despite_a_kill(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = default_keystore()
    messages = interleaved_flood(uuid.uuid4().hex[:6])
    async with pool.acquire() as conn:
        assert await store_messages(conn, keys, messages) == len(messages)
    handling = KillMidBatch()
    monkeypatch.setattr(whatsapp, "_handle", handling)
    settings = IntakeSettings(whatsapp_inbox_shards=8, whatsapp_inbox_workers=2)
    instances = [
        InboxWorker(lambda: pool, settings, keys, batch_size=5, poll=0.1) for _ in range(2)
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(instance.run(stop)) for instance in instances]
    try:
        await asyncio.wait_for(handling.stopped.wait(), 60)
        assert handling.victim is not None
        killed_batch, pid = handling.victim
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", pid)
        handling.killed.set()
        await eventually(lambda: _all_processed(pool, len(messages)), within=120)
    finally:
        stop.set()
        await asyncio.gather(*running)

    rows = await pool.fetch("SELECT message_id, sender FROM handled ORDER BY seq")
    refs = [keys.message_ref(message.message_id) for message in messages]
    # None lost, none twice: one committed handling per message.
    assert sorted(row["message_id"] for row in rows) == sorted(refs)
    # In order: each sender's handlings in the order the sender sent.
    order = {ref: index for index, ref in enumerate(refs)}
    by_sender: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_sender[row["sender"]].append(order[row["message_id"]])
    assert len(by_sender) == SENDERS + SENDERS_IN_A_ROW
    assert all(handled == sorted(handled) for handled in by_sender.values())
    assert set(by_sender) == {sender_of(keys, message.wa_id) for message in messages}
    # The killed batch's messages were handled in it, rolled back, and taken over.
    in_killed = [ref for batch, ref in handling.calls if batch == killed_batch]
    assert len(in_killed) == KILL_AT_CALL_IN_BATCH
    taken_over = [ref for batch, ref in handling.calls if batch != killed_batch]
    assert all(ref in taken_over for ref in in_killed)
    outcomes = await pool.fetch(
        "SELECT outcome FROM whatsapp_inbox WHERE message_id = ANY($1::text[])", refs
    )
    assert not [row for row in outcomes if row["outcome"].startswith("failed")]
    # One complaint for each report, each report's message marked filed.
    reports = {ref for ref, sent in zip(refs, messages, strict=True) if "LAPOR#" in sent.text}
    keys_filed = await pool.fetch(
        "SELECT idempotency_key FROM complaints WHERE idempotency_key = ANY($1::text[])",
        [f"whatsapp:{ref}" for ref in reports],
    )
    assert sorted(row["idempotency_key"] for row in keys_filed) == sorted(
        f"whatsapp:{ref}" for ref in reports
    )
    marked = await pool.fetch(
        "SELECT outcome FROM whatsapp_inbox WHERE message_id = ANY($1::text[])", list(reports)
    )
    assert [row["outcome"] for row in marked] == ["filed"] * len(reports)


async def _all_processed(pool: asyncpg.Pool, expected: int) -> bool:
    return await pool.fetchval("SELECT count(processed_at) FROM whatsapp_inbox") >= expected


async def test_concurrent_notifications_are_stored_together_each_told_its_new_messages(
    pool: asyncpg.Pool,
) -> None:
    """The webhook's group commit: notifications gathered while a group commits are stored in
    one statement; each learns how many of its messages were new (one that Meta delivers
    twice, in two notifications of the group, counts once, for the first)."""
    keys = default_keystore()
    run = uuid.uuid4().hex[:6]
    first, second, third = (message(run, 900 + index, 0) for index in range(3))
    store = NotificationStore(lambda: pool, keys)
    stop = asyncio.Event()
    loop = asyncio.create_task(store.run(stop))
    await asyncio.sleep(0)  # the loop is waiting for requests
    assert store.running
    answers = await asyncio.gather(
        store.submit(WebhookBatch(messages=(first, second))),
        store.submit(WebhookBatch(messages=(second, third))),
        store.submit(WebhookBatch(messages=(third,))),
    )
    again = await store.submit(WebhookBatch(messages=(first,)))  # Meta's retry, later
    stop.set()
    await loop
    assert answers == [2, 1, 0] and again == 0
    assert store.batches == 2  # the three together, then the retry
    stored = await pool.fetchval(
        "SELECT count(*) FROM whatsapp_inbox WHERE message_id = ANY($1::text[])",
        [keys.message_ref(m.message_id) for m in (first, second, third)],
    )
    assert stored == 3
