"""`lapor staff add ID --name NAME --role ROLE [--agency CODE] [--password-stdin]` calls
`add_staff_cli`: the first admin (and any account) from the command line."""

from __future__ import annotations

import asyncio

from services.backoffice.adapters.accounts import MIGRATIONS, SCHEMA
from services.backoffice.domain.accounts import parse_roles
from services.backoffice.handlers.accounts import add_account
from services.messaging.database import create_pool, migrate


async def add_staff(
    database_url: str,
    fields: tuple[str, str, list[str], str | None],
    password: str,
    schema: str = SCHEMA,
) -> str:
    staff_id, name, roles, agency = fields
    pool = await create_pool(database_url, schema, max_size=2)
    try:
        await migrate(pool, schema, MIGRATIONS)
        return await add_account(
            pool, (staff_id, name, parse_roles(roles), agency), password, "cli"
        )
    finally:
        await pool.close()


def add_staff_cli(
    database_url: str, fields: tuple[str, str, list[str], str | None], password: str
) -> str:
    """Synchronous entry point for the `lapor` CLI; returns the account's id."""
    return asyncio.run(add_staff(database_url, fields, password))
