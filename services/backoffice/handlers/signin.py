"""Signing in and out, and the session behind each request: the use cases over the pure
rules of `domain.signin` and the SQL of `adapters.accounts`. Passwords and one-time codes
pass through here and are never logged nor stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.backoffice.adapters import accounts as store
from services.backoffice.domain.accounts import StaffAccount
from services.backoffice.domain.passwords import hash_password, needs_rehash, verify_password
from services.backoffice.domain.signin import (
    new_session_token,
    retry_after,
    session_expired,
    token_hash,
    totp_matches,
)
from services.backoffice.settings import BackofficeSettings


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the browser's cookie; only its hash is stored


@dataclass(frozen=True)
class Refused:
    reason: str  # "wrong" (id, password or code), or "locked" (too many failures)
    wait: timedelta | None = None


@dataclass(frozen=True)
class Session:
    account: StaffAccount
    token_hash: str


async def _locked_for(
    pool: asyncpg.Pool, settings: BackofficeSettings, staff_id: str, address: str, now: datetime
) -> timedelta | None:
    window = timedelta(minutes=settings.signin_window_minutes)
    by_account, by_address = await store.failures_since(pool, staff_id, address, now - window)
    limit = settings.signin_max_failures
    waits = [
        wait
        for wait in (
            retry_after(by_account, now, limit, window),
            retry_after(by_address, now, limit, window),
        )
        if wait is not None
    ]
    return max(waits) if waits else None


async def sign_in(
    pool: asyncpg.Pool,
    settings: BackofficeSettings,
    credentials: tuple[str, str, str],
    address: str,
    now: datetime,
) -> SignedIn | Refused:
    """Check `(staff_id, password, one-time code)` from `address`. Refused without checking
    while the account or the address is locked out; a wrong id, password or code counts as
    one failure and says no more than "wrong" (which of them is not revealed)."""
    staff_id, password, code = credentials
    staff_id = staff_id.strip().lower()[:64]
    wait = await _locked_for(pool, settings, staff_id, address, now)
    if wait is not None:
        return Refused("locked", wait)
    found = await store.credentials(pool, staff_id)
    good = verify_password(found[0] if found else None, password)
    if good and found and found[1] is not None:
        good = totp_matches(found[1], code, now)
    if not good or found is None:
        await store.record_failure(pool, staff_id, address, now)
        return Refused("wrong")
    if needs_rehash(found[0]):
        await store.set_password_hash(pool, staff_id, hash_password(password))
    token = new_session_token()
    await store.create_session(pool, token_hash(token), staff_id, address, now)
    return SignedIn(token)


async def current_session(
    pool: asyncpg.Pool, token: str | None, now: datetime, idle: timedelta
) -> Session | None:
    """The session of the browser's token, slid on; None when there is none, its account is
    disabled, or it expired (then it is deleted)."""
    if not token or len(token) > 100:
        return None
    hashed = token_hash(token)
    found = await store.session(pool, hashed)
    if found is None:
        return None
    account, last_seen = found
    if session_expired(last_seen, now, idle):
        await store.end_session(pool, hashed)
        return None
    await store.touch_session(pool, hashed, now)
    return Session(account, hashed)


async def sign_out(pool: asyncpg.Pool, token: str | None) -> None:
    if token and len(token) <= 100:
        await store.end_session(pool, token_hash(token))


async def enrol_totp(
    pool: asyncpg.Pool, staff_id: str, secret: str, code: str, now: datetime
) -> bool:
    """Turn on one-time codes for the account when `code` proves the app holds `secret`."""
    if not totp_matches(secret, code, now):
        return False
    await store.set_totp_secret(pool, staff_id, secret)
    return True
