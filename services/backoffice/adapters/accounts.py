"""All of the back office's SQL: staff accounts (and the audit of their changes), failed
sign-in attempts and sessions. The repository writes; the reads the pages need are here too
(one small service, one module)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import asyncpg

from schemas.staff import AGENCY_ROLES, Role
from services.backoffice.domain.accounts import StaffAccount

SCHEMA = "backoffice"
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _columns(alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return (
        f"{a}staff_id, {a}display_name, {a}roles, {a}agency_code,"
        f" {a}totp_secret IS NOT NULL AS totp_enabled, {a}disabled, {a}created_at"
    )


ACCOUNT_COLUMNS = _columns()


class AccountExists(Exception):
    """An account with this id exists already."""


def _account(row: asyncpg.Record) -> StaffAccount:
    return StaffAccount(
        staff_id=row["staff_id"],
        display_name=row["display_name"],
        roles=frozenset(Role(role) for role in row["roles"] if role in set(Role)),
        agency_code=row["agency_code"],
        totp_enabled=row["totp_enabled"],
        disabled=row["disabled"],
        created_at=row["created_at"],
    )


async def _audit(
    conn: asyncpg.Connection, staff_id: str, action: str, actor: str, detail: str | None = None
) -> None:
    await conn.execute(
        "INSERT INTO staff_account_events (staff_id, action, detail, actor)"
        " VALUES ($1, $2, $3, $4)",
        staff_id,
        action,
        detail,
        actor,
    )


async def create_account(
    pool: asyncpg.Pool,
    account: tuple[str, str, frozenset[Role], str | None],
    password_hash: str,
    actor: str,
) -> None:
    staff_id, name, roles, agency = account
    async with pool.acquire() as conn, conn.transaction():
        try:
            await conn.execute(
                "INSERT INTO staff_accounts (staff_id, display_name, password_hash, roles,"
                " agency_code, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
                staff_id,
                name,
                password_hash,
                sorted(role.value for role in roles),
                agency,
                actor,
            )
        except asyncpg.UniqueViolationError:
            raise AccountExists(staff_id) from None
        detail = ",".join(sorted(roles)) + (f" @{agency}" if agency else "")
        await _audit(conn, staff_id, "created", actor, detail)


async def account(pool: asyncpg.Pool, staff_id: str) -> StaffAccount | None:
    row = await pool.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE staff_id = $1", staff_id
    )
    return _account(row) if row else None


async def accounts(pool: asyncpg.Pool) -> list[StaffAccount]:
    rows = await pool.fetch(f"SELECT {ACCOUNT_COLUMNS} FROM staff_accounts ORDER BY staff_id")
    return [_account(row) for row in rows]


async def agency_staff(pool: asyncpg.Pool, agency_code: str) -> list[StaffAccount]:
    """The enabled accounts with an agency role for `agency_code`: whom a supervisor may
    hand that agency's cases to."""
    rows = await pool.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM staff_accounts"
        " WHERE agency_code = $1 AND NOT disabled AND roles && $2::text[] ORDER BY display_name",
        agency_code,
        sorted(role.value for role in AGENCY_ROLES),
    )
    return [_account(row) for row in rows]


async def credentials(pool: asyncpg.Pool, staff_id: str) -> tuple[str, str | None] | None:
    """The password hash and TOTP secret of an enabled account (None: none, or disabled)."""
    row = await pool.fetchrow(
        "SELECT password_hash, totp_secret FROM staff_accounts"
        " WHERE staff_id = $1 AND NOT disabled",
        staff_id,
    )
    return (row["password_hash"], row["totp_secret"]) if row else None


async def set_roles(
    pool: asyncpg.Pool, staff_id: str, roles: frozenset[Role], agency: str | None, actor: str
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE staff_accounts SET roles = $2, agency_code = $3, updated_at = now()"
            " WHERE staff_id = $1",
            staff_id,
            sorted(role.value for role in roles),
            agency,
        )
        detail = ",".join(sorted(roles)) + (f" @{agency}" if agency else "")
        await _audit(conn, staff_id, "roles", actor, detail)


async def set_disabled(pool: asyncpg.Pool, staff_id: str, disabled: bool, actor: str) -> None:
    """Disable (and end every session of) an account, or enable it again."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE staff_accounts SET disabled = $2, updated_at = now() WHERE staff_id = $1",
            staff_id,
            disabled,
        )
        if disabled:
            await conn.execute("DELETE FROM staff_sessions WHERE staff_id = $1", staff_id)
        await _audit(conn, staff_id, "disabled" if disabled else "enabled", actor)


async def set_password_hash(pool: asyncpg.Pool, staff_id: str, password_hash: str) -> None:
    """A rehash with newer parameters after a good sign-in (not an audited change)."""
    await pool.execute(
        "UPDATE staff_accounts SET password_hash = $2 WHERE staff_id = $1", staff_id, password_hash
    )


async def set_totp_secret(pool: asyncpg.Pool, staff_id: str, secret: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE staff_accounts SET totp_secret = $2, updated_at = now() WHERE staff_id = $1",
            staff_id,
            secret,
        )
        await _audit(conn, staff_id, "totp", staff_id)


async def record_failure(pool: asyncpg.Pool, staff_id: str, address: str, now: datetime) -> None:
    await pool.execute(
        "INSERT INTO staff_signin_failures (staff_id, address, at) VALUES ($1, $2, $3)",
        staff_id,
        address,
        now,
    )


async def failures_since(
    pool: asyncpg.Pool, staff_id: str, address: str, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """The failed attempts since `since` on this account, and from this address."""
    by_account = await pool.fetch(
        "SELECT at FROM staff_signin_failures WHERE staff_id = $1 AND at > $2", staff_id, since
    )
    by_address = await pool.fetch(
        "SELECT at FROM staff_signin_failures WHERE address = $1 AND at > $2", address, since
    )
    return [row["at"] for row in by_account], [row["at"] for row in by_address]


async def create_session(
    pool: asyncpg.Pool, token_hash: str, staff_id: str, address: str, now: datetime
) -> None:
    await pool.execute(
        "INSERT INTO staff_sessions (token_hash, staff_id, address, created_at, last_seen)"
        " VALUES ($1, $2, $3, $4, $4)",
        token_hash,
        staff_id,
        address,
        now,
    )


async def session(pool: asyncpg.Pool, token_hash: str) -> tuple[StaffAccount, datetime] | None:
    """The session's account (enabled accounts only) and when it was last used."""
    row = await pool.fetchrow(
        f"SELECT s.last_seen, {_columns('a')}"
        " FROM staff_sessions s JOIN staff_accounts a USING (staff_id)"
        " WHERE s.token_hash = $1 AND NOT a.disabled",
        token_hash,
    )
    return (_account(row), row["last_seen"]) if row else None


async def touch_session(pool: asyncpg.Pool, token_hash: str, now: datetime) -> None:
    await pool.execute(
        "UPDATE staff_sessions SET last_seen = $2 WHERE token_hash = $1", token_hash, now
    )


async def end_session(pool: asyncpg.Pool, token_hash: str) -> None:
    await pool.execute("DELETE FROM staff_sessions WHERE token_hash = $1", token_hash)
