"""The directory's command-line entry points: `lapor routing load-agencies FILE.csv` calls
`load_agencies_file`, and `lapor routing add-officer AGENCY OFFICER_ID [--admin]` calls
`add_officer_cli` (prints the token once)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from services.messaging.database import create_pool, migrate
from services.routing.adapters import repository
from services.routing.adapters.directory import DirectoryError, parse_agencies_csv, upsert_agencies
from services.routing.adapters.repository import MIGRATIONS


async def load_agencies(path: Path, database_url: str, schema: str = "routing") -> int:
    """Validate the file, then upsert it into routing's directory; returns the row count."""
    rows = parse_agencies_csv(await asyncio.to_thread(path.read_text, encoding="utf-8-sig"))
    pool = await create_pool(database_url, schema, max_size=2)
    try:
        await migrate(pool, schema, MIGRATIONS)
        async with pool.acquire() as conn:
            return await upsert_agencies(conn, rows)
    finally:
        await pool.close()


def load_agencies_file(path: Path, database_url: str | None = None) -> int:
    """Synchronous entry point for the `lapor` CLI."""
    url = database_url or os.environ.get(
        "LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor"
    )
    return asyncio.run(load_agencies(path, url))


async def add_officer(
    database_url: str,
    agency_code: str,
    officer_id: str,
    *,
    admin: bool = False,
    schema: str = "routing",
) -> str:
    """Create an officer of an agency; returns the bearer token, which is stored only hashed
    and cannot be shown again."""
    token = secrets.token_urlsafe(32)
    pool = await create_pool(database_url, schema, max_size=2)
    try:
        await migrate(pool, schema, MIGRATIONS)
        async with pool.acquire() as conn:
            if not await repository.agency_exists(conn, agency_code):
                raise DirectoryError(f"unknown agency {agency_code!r}")
            role = "admin" if admin else "officer"
            await repository.create_officer(conn, officer_id, agency_code, token, role)
    finally:
        await pool.close()
    return token


def add_officer_cli(
    agency_code: str, officer_id: str, admin: bool = False, database_url: str | None = None
) -> str:
    """Synchronous entry point for `lapor routing add-officer AGENCY OFFICER_ID [--admin]`."""
    url = database_url or os.environ.get(
        "LAPOR_DATABASE_URL", "postgresql://lapor@127.0.0.1:55432/lapor"
    )
    return asyncio.run(add_officer(url, agency_code, officer_id, admin=admin))
