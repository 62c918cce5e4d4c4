"""Triage opens a complaint's personal fields for the checks that need them (NIK structure and
region, phone number), in memory only: what it forwards between its stages, keeps in tables
or publishes is the sealed original or carries no personal data.

An erased reporter's fields stay sealed; `domain.rules.assess` then skips those checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from schemas.events import ComplaintReceived
from schemas.personal_data import is_sealed
from services.messaging.database import TRANSIENT_ERRORS
from services.personal_data.field_crypto import personal_values
from services.personal_data.keystore import Keystore

log = logging.getLogger(__name__)
RETRIES = 30


class PersonalDataReader:
    """Opens sealed fields with the key store the bootstrap built, on the review database's
    pool (`pool` waits until it is open)."""

    def __init__(self, keys: Keystore, pool: Callable[[], Awaitable[asyncpg.Pool]]) -> None:
        self.keys = keys
        self.pool = pool

    async def readable(self, event: ComplaintReceived) -> ComplaintReceived:
        """`event` with its readable personal fields opened; retried through short database
        outages (a dead letter would be worse than a wait)."""
        if not any(is_sealed(value) for value in personal_values(event)):
            return event  # nothing sealed (older producers, tests): no keystore round trip
        for attempt in range(RETRIES):
            try:
                async with (await self.pool()).acquire() as conn:
                    return await self.keys.open(conn, event)
            except TRANSIENT_ERRORS as error:  # the database away: wait, never dead-letter
                if attempt == RETRIES - 1:
                    raise
                log.warning("keystore unavailable; retrying", extra={"error": repr(error)})
                await asyncio.sleep(1)
        raise AssertionError("unreachable")  # pragma: no cover
