"""The keystore: per-reporter data keys in PostgreSQL, wrapped by the master key.

Schema `keystore` is shared infrastructure, not a service's data: it plays the part a KMS
(HashiCorp Vault's transit engine, a cloud KMS) plays in production, and every service reads
it. Only wrapped keys are stored; the master keys come from the environment
(`field_crypto.keys_from_env`) and never touch the database.

- `key_for(identity)` gets or creates the reporter's key (intake, when it takes data in);
- `keys(key_ids)` finds the keys sealed values name, through a small in-process cache. A live
  key is cached for `LAPOR_KEYSTORE_CACHE_SECONDS` (5 s by default), so an erasure reaches
  every service within that time; an erased key is cached as erased for good (key ids are
  random and never reused);
- `erase(identities)` deletes the key material (crypto-shredding, UU PDP's deletion duty);
- `rewrap()` re-wraps every key with the current master key (rotation).

A key that does not unwrap with this instance's master keys (a version missing from
LAPOR_MASTER_KEYS) raises `KeyConfigError` and counts in
`lapor_keystore_unwrap_failures_total` (alert LaporKeyUnwrapFailures, docs/runbook.md).

See docs/personal-data.md.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg
from prometheus_client import Counter
from pydantic import BaseModel

from services.personal_data.field_crypto import (
    DataKey,
    KeyConfigError,
    MasterKeys,
    Unreadable,
    identity_digest,
    keys_from_env,
    new_data_key,
    open_model,
    open_tree,
    open_value,
    seal_model,
    sealed_key_ids_in,
    whatsapp_message_ref,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

_NO_KEYSTORE = (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError)
DEFAULT_CACHE_SECONDS = 5.0
MAX_CACHED = 10_000
_LOCK = zlib.crc32(b"lapor-keystore-schema")
# A data key this instance cannot unwrap: its master key version is missing from
# LAPOR_MASTER_KEYS (dropped before `lapor keys rotate` finished) or does not match it.
UNWRAP_FAILURES = Counter(
    "lapor_keystore_unwrap_failures_total",
    "Data keys that did not unwrap with this instance's master keys",
    ["master_version"],
)

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS keystore;
CREATE TABLE IF NOT EXISTS keystore.data_keys (
    key_id          text PRIMARY KEY,          -- random; sealed values name it
    identity_digest text,                      -- keyed hash of NIK/phone/email; NULL once erased
    wrapped_key     bytea,                     -- the DEK wrapped by a master key; NULL once erased
    master_version  text,                      -- which master key wrapped it
    created_at      timestamptz NOT NULL DEFAULT now(),
    rewrapped_at    timestamptz,
    erased_at       timestamptz,
    CHECK ((erased_at IS NULL) = (wrapped_key IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS data_keys_live_identity
    ON keystore.data_keys (identity_digest) WHERE erased_at IS NULL;
CREATE INDEX IF NOT EXISTS data_keys_by_master
    ON keystore.data_keys (master_version) WHERE erased_at IS NULL;
"""


class Keystore:
    def __init__(
        self,
        master: MasterKeys,
        identity_key: bytes,
        *,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.master = master
        self.identity_key = identity_key
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, DataKey | None]] = OrderedDict()

    def __repr__(self) -> str:
        return f"Keystore({self.master!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Keystore:
        env = os.environ if env is None else env
        master, identity_key = keys_from_env(env)
        seconds = float(env.get("LAPOR_KEYSTORE_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
        return cls(master, identity_key, cache_seconds=seconds)

    # ------------------------------------------------------------------------- schema

    @staticmethod
    async def ensure(conn: asyncpg.Connection) -> None:
        """Create the keystore schema once; several processes starting together are fine."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            await conn.execute(SCHEMA_SQL)

    # ------------------------------------------------------------------------- keys

    def digest(self, identity: str) -> str:
        return identity_digest(self.identity_key, identity)

    def message_ref(self, wamid: str) -> str:
        """A WhatsApp message id as stored and published: `field_crypto.whatsapp_message_ref`."""
        return whatsapp_message_ref(self.identity_key, wamid)

    async def key_for(self, conn: asyncpg.Connection, identity: str | None) -> DataKey:
        """The reporter's live key, created on first use. Call it in the transaction that
        stores the sealed data, so a rolled-back filing leaves no key behind."""
        try:
            async with conn.transaction():  # a savepoint inside the caller's transaction
                return await self._key_for(conn, identity)
        except _NO_KEYSTORE:
            # A database no service runtime has prepared yet (in-process tests, tools).
            await self.ensure(conn)
            return await self._key_for(conn, identity)

    async def _key_for(self, conn: asyncpg.Connection, identity: str | None) -> DataKey:
        digest = self.digest(identity) if identity else None
        if digest is not None:
            existing = await self._live_key(conn, digest)
            if existing is not None:
                return existing
        key = new_data_key()
        version, wrapped = self.master.wrap(key)
        inserted = await conn.fetchval(
            "INSERT INTO keystore.data_keys (key_id, identity_digest, wrapped_key,"
            " master_version) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (identity_digest) WHERE erased_at IS NULL DO NOTHING RETURNING true",
            key.key_id,
            digest,
            wrapped,
            version,
        )
        if inserted:
            self._remember(key.key_id, key)
            return key
        assert digest is not None  # only a live identity conflicts
        winner = await self._live_key(conn, digest)  # another filing created it just now
        if winner is None:
            raise RuntimeError("the reporter's data key vanished while it was being created")
        return winner

    async def keys_for(
        self, conn: asyncpg.Connection, identities: Sequence[str]
    ) -> dict[str, DataKey]:
        """`key_for` for many reporters in three statements at most (find, create the
        missing, re-read what another filing created meanwhile). Call it inside the
        transaction that stores the sealed data; the keystore schema must exist."""
        digests = {identity: self.digest(identity) for identity in set(identities)}
        found = await self._live_keys(conn, list(digests.values()))
        fresh = {digest: new_data_key() for digest in set(digests.values()) if digest not in found}
        if fresh:
            wrapped = {digest: self.master.wrap(key) for digest, key in fresh.items()}
            created = await conn.fetch(
                "INSERT INTO keystore.data_keys (key_id, identity_digest, wrapped_key,"
                " master_version) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[],"
                " $4::text[])"
                " ON CONFLICT (identity_digest) WHERE erased_at IS NULL DO NOTHING"
                " RETURNING identity_digest",
                [key.key_id for key in fresh.values()],
                list(fresh),
                [wrapped[digest][1] for digest in fresh],
                [wrapped[digest][0] for digest in fresh],
            )
            for row in created:
                key = fresh[row["identity_digest"]]
                self._remember(key.key_id, key)
                found[row["identity_digest"]] = key
            raced = [digest for digest in fresh if digest not in found]
            if raced:  # created by a concurrent filing between our read and our insert
                found.update(await self._live_keys(conn, raced))
        missing = [identity for identity, digest in digests.items() if digest not in found]
        if missing:
            raise RuntimeError("a reporter's data key vanished while it was being created")
        return {identity: found[digest] for identity, digest in digests.items()}

    async def _live_keys(self, conn: asyncpg.Connection, digests: list[str]) -> dict[str, DataKey]:
        rows = await conn.fetch(
            "SELECT key_id, identity_digest, wrapped_key, master_version FROM keystore.data_keys"
            " WHERE identity_digest = ANY($1::text[]) AND erased_at IS NULL",
            digests,
        )
        live = {}
        for row in rows:
            key = self._unwrap(row)
            self._remember(key.key_id, key)
            live[row["identity_digest"]] = key
        return live

    async def _live_key(self, conn: asyncpg.Connection, digest: str) -> DataKey | None:
        return (await self._live_keys(conn, [digest])).get(digest)

    async def keys(
        self, conn: asyncpg.Connection, key_ids: Iterable[str]
    ) -> dict[str, DataKey | None]:
        """The keys by id; None for an erased (or unknown) key."""
        now = self.clock()
        found: dict[str, DataKey | None] = {}
        missing: list[str] = []
        for key_id in set(key_ids):
            cached = self._cache.get(key_id)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(key_id)
                found[key_id] = cached[1]
            else:
                missing.append(key_id)
        if missing:
            query = (
                "SELECT key_id, wrapped_key, master_version FROM keystore.data_keys"
                " WHERE key_id = ANY($1::text[])"
            )
            try:
                if conn.is_in_transaction():
                    # A savepoint, so a missing keystore does not abort the caller's work.
                    async with conn.transaction():
                        rows = await conn.fetch(query, missing)
                else:  # alone, a failed read aborts nothing: spare the BEGIN and COMMIT
                    rows = await conn.fetch(query, missing)
            except _NO_KEYSTORE:
                return {**found, **dict.fromkeys(missing)}  # no keystore here: nothing opens
            for row in rows:
                if row["wrapped_key"] is None:
                    found[row["key_id"]] = None
                    self._remember(row["key_id"], None, forever=True)
                else:
                    key = self._unwrap(row)
                    found[key.key_id] = key
                    self._remember(key.key_id, key)
            for key_id in missing:
                if key_id not in found:
                    found[key_id] = None  # never existed here: as unreadable as an erased one
                    self._remember(key_id, None)
        return found

    async def key(self, conn: asyncpg.Connection, key_id: str) -> DataKey | None:
        return (await self.keys(conn, [key_id]))[key_id]

    def _unwrap(self, row: asyncpg.Record) -> DataKey:
        try:
            return self.master.unwrap(row["key_id"], row["master_version"], row["wrapped_key"])
        except KeyConfigError:
            UNWRAP_FAILURES.labels(row["master_version"]).inc()
            raise

    def _remember(self, key_id: str, key: DataKey | None, *, forever: bool = False) -> None:
        expires = math.inf if forever else self.clock() + self.cache_seconds
        self._cache[key_id] = (expires, key)
        self._cache.move_to_end(key_id)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)

    # ------------------------------------------------------------------------- values

    async def seal(
        self,
        conn: asyncpg.Connection,
        model: M,
        *,
        identity: str | None = None,
        key_id: str | None = None,
    ) -> M:
        """`model` with its personal fields sealed: under the key `key_id` names when given
        (more data about a known reporter), else under the identity's key."""
        if key_id is not None:
            key = await self.key(conn, key_id)
            if key is None:
                raise Unreadable("the reporter's data key was erased")
        else:
            key = await self.key_for(conn, identity)
        return seal_model(model, key)

    async def open(self, conn: asyncpg.Connection, model: M) -> M:
        """`model` with readable personal fields opened (erased ones stay sealed)."""
        keys = await self.keys(conn, sealed_key_ids_in(model))
        return open_model(model, keys)

    async def reveal(self, conn: asyncpg.Connection, value: str | None) -> str | None:
        """One value in the clear; a plain value as it is; None if erased."""
        if value is None:
            return None
        keys = await self.keys(conn, sealed_key_ids_in(value))
        return open_value(value, keys)

    async def open_bytes(self, conn: asyncpg.Connection, key_id: str, blob: bytes) -> bytes | None:
        """A sealed document in the clear; None when its key was erased (or never existed)."""
        key = await self.key(conn, key_id)
        return None if key is None else key.open_bytes(blob)

    async def open_json(self, conn: asyncpg.Connection, tree: Any) -> Any:
        """A stored JSON payload with sealed strings opened and erased ones None."""
        keys = await self.keys(conn, sealed_key_ids_in(tree))
        return open_tree(tree, keys)

    # ------------------------------------------------------------------------- erasure

    async def erase(
        self,
        conn: asyncpg.Connection,
        *,
        identities: Iterable[str] = (),
        key_ids: Iterable[str] = (),
    ) -> list[str]:
        """Delete the key material of these reporters (one transaction); returns the erased
        key ids. Every sealed copy of their data, wherever it is kept, becomes unreadable."""
        digests = [self.digest(identity) for identity in identities]
        async with conn.transaction():
            rows = await conn.fetch(
                "UPDATE keystore.data_keys SET wrapped_key = NULL, master_version = NULL,"
                " identity_digest = NULL, erased_at = now()"
                " WHERE erased_at IS NULL"
                " AND (identity_digest = ANY($1::text[]) OR key_id = ANY($2::text[]))"
                " RETURNING key_id",
                digests,
                list(key_ids),
            )
        erased = sorted(row["key_id"] for row in rows)
        for key_id in erased:
            self._remember(key_id, None, forever=True)
        # The act is logged, never the person: key ids name keys, not reporters.
        log.info("reporter erased", extra={"key_ids": erased, "keys_erased": len(erased)})
        return erased

    # ------------------------------------------------------------------------- rotation

    async def rewrap(self, conn: asyncpg.Connection, batch: int = 500) -> int:
        """Re-wrap every live key still wrapped by an older master key with the current one.
        Safe to interrupt and repeat; returns how many keys were re-wrapped."""
        current = self.master.current
        done = 0
        while True:
            async with conn.transaction():
                rows = await conn.fetch(
                    "SELECT key_id, wrapped_key, master_version FROM keystore.data_keys"
                    " WHERE erased_at IS NULL AND master_version <> $1"
                    " ORDER BY key_id LIMIT $2 FOR UPDATE SKIP LOCKED",
                    current,
                    batch,
                )
                for row in rows:
                    key = self.master.unwrap(
                        row["key_id"], row["master_version"], row["wrapped_key"]
                    )
                    version, wrapped = self.master.wrap(key)
                    await conn.execute(
                        "UPDATE keystore.data_keys SET wrapped_key = $2, master_version = $3,"
                        " rewrapped_at = now() WHERE key_id = $1",
                        key.key_id,
                        wrapped,
                        version,
                    )
            done += len(rows)
            if len(rows) < batch:
                return done

    async def versions(self, conn: asyncpg.Connection) -> dict[str, int]:
        """Live keys per master key version (erased keys under "erased")."""
        rows = await conn.fetch(
            "SELECT coalesce(master_version, 'erased') AS version, count(*) AS n"
            " FROM keystore.data_keys GROUP BY 1 ORDER BY 1"
        )
        return {row["version"]: int(row["n"]) for row in rows}


@functools.cache
def default_keystore() -> Keystore:
    """The process's keystore, from the environment (one cache per process)."""
    return Keystore.from_env()
