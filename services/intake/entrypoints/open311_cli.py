"""Open311 client applications from the command line: `lapor open311 add-client NAME`
(prints the key once: it is stored only as a digest), `revoke-client CLIENT_ID` and
`clients`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg

from services.intake.adapters import open311
from services.messaging.database import create_pool, migrate

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


async def _with_intake(database_url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    pool = await create_pool(database_url, "intake", max_size=1)
    try:
        await migrate(pool, "intake", MIGRATIONS)
        async with pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


def _url(database_url: str | None) -> str:
    return database_url or os.environ.get(
        "LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor"
    )


def add_client_cli(name: str, database_url: str | None = None) -> tuple[str, str]:
    """The new client's id and key."""
    return asyncio.run(
        _with_intake(_url(database_url), lambda conn: open311.add_client(conn, name))
    )


def revoke_client_cli(client_id: str, database_url: str | None = None) -> bool:
    return asyncio.run(
        _with_intake(_url(database_url), lambda conn: open311.revoke_client(conn, client_id))
    )


def clients_cli(database_url: str | None = None) -> list[asyncpg.Record]:
    return asyncio.run(_with_intake(_url(database_url), open311.clients))
