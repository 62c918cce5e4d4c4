"""The citizen's words in routing's tables are sealed with the reporter's data key: a case's
`summary` (the start of the chronology, sealed by triage) and each addition's text and
attachment filenames in `case_additions` (sealed by intake). Routing keeps them sealed and
never logs them; they are opened here, in memory, for the agency desk, the Open311 view and
the SP4N-LAPOR! forward, through the shared key store (docs/personal-data.md).

Once the reporter is erased their words read as `ERASED`, never as ciphertext.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from schemas.personal_data import ERASED
from services.personal_data.field_crypto import open_value, sealed_key_ids_in
from services.personal_data.keystore import Keystore


async def readable(
    keys: Keystore, db: asyncpg.Connection | asyncpg.Pool, values: Sequence[str | None]
) -> list[str | None]:
    """`values` in the clear, in order: a plain value as it is, None as None, an erased
    reporter's as `ERASED`. One key store round trip for them all."""
    key_ids = sealed_key_ids_in([value for value in values if value is not None])
    if not key_ids:
        return list(values)
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            found = await keys.keys(conn, key_ids)
    else:
        found = await keys.keys(db, key_ids)
    opened = [None if value is None else open_value(value, found) for value in values]
    return [
        ERASED if value is not None and text is None else text
        for value, text in zip(values, opened, strict=True)
    ]
