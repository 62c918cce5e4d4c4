"""The one way routing opens what it keeps sealed with the reporter's data key: a case's
`summary` (the start of the chronology, sealed by triage), each addition's text and
attachment filenames in `case_additions` (sealed by intake), and the complaints of the case
file (`case_files`, intake's ComplaintReceived). Routing keeps them sealed and never logs
them; they are opened here, in memory, for the agency desk, the case file
and the SP4N-LAPOR! forward, through the shared key store (docs/personal-data.md).

Once the reporter is erased their words read as `ERASED`, never as ciphertext, and whether a
complaint is erased is the key store's answer (its reporter's key is gone), not a guess from
what is left sealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
from pydantic import BaseModel

from schemas.personal_data import ERASED
from services.personal_data.field_crypto import (
    DataKey,
    map_personal,
    open_value,
    sealed_key_ids_in,
)
from services.personal_data.keystore import Keystore

M = TypeVar("M", bound=BaseModel)
Db = asyncpg.Connection | asyncpg.Pool
Keys = Mapping[str, DataKey | None]


@dataclass(frozen=True)
class Opened(Generic[M]):
    model: M  # readable personal fields in the clear, an erased reporter's read ERASED
    erased: bool  # the key store says a key the model was sealed with is gone


async def _keys(keys: Keystore | None, db: Db, key_ids: Iterable[str]) -> Keys:
    """The keys by id, one key store round trip; without a key store nothing opens."""
    wanted = set(key_ids)
    if not wanted or keys is None:
        return dict.fromkeys(wanted)
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await keys.keys(conn, wanted)
    return await keys.keys(db, wanted)


def shown(value: str, found: Keys) -> str:
    """A personal value for the page, with the keys the key store `found` (pure)."""
    plain = open_value(value, found)
    return ERASED if plain is None else plain


def opened_with(model: M, found: Keys) -> Opened[M]:
    """`model` with every personal field `shown`, and erased when a key it names is gone
    (pure). A model that names no key (nothing sealed, as routing keeps an anonymous
    report's identity) is never erased."""
    return Opened(
        map_personal(model, lambda value: shown(value, found)),
        erased=any(found.get(key_id) is None for key_id in sealed_key_ids_in(model)),
    )


async def opened(keys: Keystore | None, db: Db, models: Sequence[M]) -> list[Opened[M]]:
    """Each model `opened_with` its keys: one key store round trip for them all."""
    found = await _keys(keys, db, sealed_key_ids_in(list(models)))
    return [opened_with(model, found) for model in models]


async def readable(keys: Keystore | None, db: Db, values: Sequence[str | None]) -> list[str | None]:
    """`values` in the clear, in order: a plain value as it is, None as None, an erased
    reporter's as `ERASED` (as `opened` shows a model's fields)."""
    found = await _keys(keys, db, sealed_key_ids_in([value for value in values if value]))
    return [None if value is None else shown(value, found) for value in values]
