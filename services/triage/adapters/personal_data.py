"""Triage opens a complaint's personal fields for the checks that need them (the chronology
for classification and near duplicates, NIK structure and region, phone number), in memory
only: what it forwards between its stages, keeps in tables or publishes is the sealed original,
is sealed again with the reporter's key (`domain.sealing`) or carries no personal data.

An erased reporter's fields stay sealed; `domain.rules.assess` then skips those checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import asyncpg

from schemas.events import ComplaintReceived
from services.messaging.database import TRANSIENT_ERRORS
from services.personal_data.field_crypto import (
    DataKey,
    open_model,
    open_value,
    sealed_key_ids_in,
)
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
        """`event` with its readable personal fields opened."""
        return open_model(event, await self.data_keys(sealed_key_ids_in(event)))

    async def texts(self, values: Sequence[str]) -> list[str | None]:
        """Sealed texts in the clear (plain ones as they are; None once erased), with one
        key store round trip for them all."""
        keys = await self.data_keys(sealed_key_ids_in(list(values)))
        return [open_value(value, keys) for value in values]

    async def data_keys(self, key_ids: Iterable[str]) -> Mapping[str, DataKey | None]:
        """The keys by id (None: erased); retried through short database outages (a dead
        letter would be worse than a wait)."""
        wanted = set(key_ids)
        if not wanted:
            return {}  # nothing sealed (older producers, tests): no keystore round trip
        for attempt in range(RETRIES):
            try:
                async with (await self.pool()).acquire() as conn:
                    return await self.keys.keys(conn, wanted)
            except TRANSIENT_ERRORS as error:  # the database away: wait, never dead-letter
                if attempt == RETRIES - 1:
                    raise
                log.warning("keystore unavailable; retrying", extra={"error": repr(error)})
                await asyncio.sleep(1)
        raise AssertionError("unreachable")  # pragma: no cover
