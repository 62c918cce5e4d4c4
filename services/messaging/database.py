"""asyncpg pools bound to one service's schema, and versioned SQL migrations.

Each service owns one PostgreSQL schema named after it. Migrations are the plumbing tables
(`0000_plumbing.sql`) followed by the service's own `migrations/NNNN_name.sql`, applied in order
under an advisory lock, so several instances starting together apply each file once.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

# Failures of the infrastructure, not of the work: wait and retry instead of giving up on it.
# The one list, for the consumer loop, the workers and every service's own database calls.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    # A server shutting down or starting (AdminShutdown, CannotConnectNow, CrashShutdown).
    asyncpg.exceptions.OperatorInterventionError,
    TimeoutError,
    asyncpg.InternalClientError,  # a connection left mid-operation by an outage
)

PLUMBING_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


async def create_pool(
    database_url: str, schema: str, *, min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    await ensure_schema(database_url, schema)
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"lapor-{schema}"},
    )
    assert pool is not None
    return pool


async def ensure_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except asyncpg.UniqueViolationError:
        pass  # created concurrently by another instance
    finally:
        await conn.close()


def migration_files(service_migrations: Path | None) -> list[tuple[str, Path]]:
    files = sorted(PLUMBING_MIGRATIONS.glob("*.sql"))
    if service_migrations is not None:
        files += sorted(service_migrations.glob("*.sql"))
    return [(path.stem, path) for path in files]


async def migrate(pool: asyncpg.Pool, schema: str, service_migrations: Path | None) -> list[str]:
    """Apply pending migrations; returns the versions applied now."""
    applied_now: list[str] = []
    lock_key = zlib.crc32(f"lapor-migrate-{schema}".encode())
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")
            }
            for version, path in migration_files(service_migrations):
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )
                applied_now.append(version)
                log.info("migration applied", extra={"schema": schema, "version": version})
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied_now
