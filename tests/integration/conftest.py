"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.messaging.database import create_pool, migrate
from services.personal_data.keystore import Keystore

INTAKE_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "intake" / "migrations"


@pytest.fixture(scope="module")
async def intake_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Intake's schema in this module's database, with the key store, as the service
    runtime sets them up at start."""
    pool = await create_pool(database_url, "intake", max_size=8)
    await migrate(pool, "intake", INTAKE_MIGRATIONS)
    async with pool.acquire() as conn:
        await Keystore.ensure(conn)
    yield pool
    await pool.close()
