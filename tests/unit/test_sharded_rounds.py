"""A sharded worker's round visits only the shards its `pending` query names, and skips that
query while the shards keep giving full batches (a surge)."""

from __future__ import annotations

from services.messaging.worker import sharded


async def test_a_round_visits_only_the_pending_shards_and_skips_the_query_in_a_surge() -> None:
    visited: list[int] = []
    queries: list[int] = []
    full_shards: set[int] = set()

    async def work_shard(shard: int) -> int:
        visited.append(shard)
        return 10 if shard in full_shards else 1

    async def pending() -> set[int]:
        queries.append(1)
        return {1, 3}

    round_of = sharded("t", work_shard, shards=4, workers=1, batch_size=10, pending=pending).work

    assert await round_of() == 0
    assert (visited, len(queries)) == ([1, 3], 1)

    full_shards.add(3)
    visited.clear()
    assert await round_of() == 10  # shard 3 gave a full batch: there is more
    assert (visited, len(queries)) == ([1, 3], 2)

    visited.clear()
    assert await round_of() == 10  # in a surge every shard, without asking
    assert (visited, len(queries)) == ([0, 1, 2, 3], 2)

    full_shards.clear()
    visited.clear()
    await round_of()
    assert len(queries) == 2  # that round was short ...
    await round_of()
    assert len(queries) == 3  # ... so the next one asks again


async def test_without_pending_a_round_visits_every_shard() -> None:
    visited: list[int] = []

    async def work_shard(shard: int) -> int:
        visited.append(shard)
        return 0

    await sharded("t", work_shard, shards=3, workers=1, batch_size=5).work()
    assert visited == [0, 1, 2]
