"""Creating and changing staff accounts: one way for the admin page and `lapor staff add`."""

from __future__ import annotations

import asyncpg

from schemas.staff import Role
from services.backoffice.adapters import accounts as store
from services.backoffice.domain.accounts import checked_account
from services.backoffice.domain.passwords import hash_password


async def add_account(
    pool: asyncpg.Pool,
    fields: tuple[str, str, frozenset[Role], str | None],
    password: str,
    actor: str,
) -> str:
    """Create an account (InvalidAccount, WeakPassword or AccountExists otherwise); returns
    its normalised id. `fields`: id, display name, roles, agency code."""
    account = checked_account(*fields)
    await store.create_account(pool, account, hash_password(password), actor)
    return account[0]


async def change_roles(
    pool: asyncpg.Pool,
    staff_id: str,
    roles: frozenset[Role],
    agency_code: str | None,
    actor: str,
) -> None:
    """Set the account's roles (and agency); InvalidAccount when they do not fit together."""
    current = await store.account(pool, staff_id)
    if current is None:
        raise LookupError(staff_id)
    _, _, roles, agency = checked_account(staff_id, current.display_name, roles, agency_code)
    await store.set_roles(pool, staff_id, roles, agency, actor)
