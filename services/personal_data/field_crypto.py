"""Field-level encryption of personal data, pure: no I/O, so every rule here has a fast test.

Envelope encryption (docs/personal-data.md):
- each reporter has a data key (DEK, 64 random bytes: 32 for AES-256-GCM, 32 for the nonce
  PRF). The keystore (`services.personal_data.keystore`) keeps it wrapped by a master key (KEK);
- a personal field becomes `pd1:<key_id>:<base64url(nonce | ciphertext+tag)>`. The key id is
  random, so the value names a key, never a person; it is the associated data, so a value
  cannot be passed off under another reporter's key;
- the nonce is an HMAC of the plaintext under the DEK's second half (synthetic IV, as in
  AES-SIV): sealing is deterministic per key. The same reporter's same phone number always
  seals to the same string, so equality lookups (one booking per phone and day, the notifier's
  per-address rate limit) keep working without a plaintext column. It reveals only that one
  reporter repeated a value, which the shared key id already says;
- documents (uploads, WhatsApp media) are sealed as bytes with the same key
  (`DataKey.seal_bytes`: a random nonce, the key id stored beside the blob);
- deleting the DEK (crypto-shredding) makes every copy unreadable: Kafka's retained topics,
  dead letters, database rows and backups.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from schemas.personal_data import SEALED_PREFIX, is_sealed, personal_field_names, sealed_key_id

M = TypeVar("M", bound=BaseModel)
NONCE_BYTES = 12
SEALED_BYTES_PREFIX = "pdb1:"  # the associated data of sealed documents: never a field's
DEK_BYTES = 64
MASTER_KEY_BYTES = 32


class Unreadable(Exception):
    """A sealed value that cannot be opened: its key was erased, or it was tampered with."""


class KeyConfigError(RuntimeError):
    """The master keys or the identity key are missing or malformed (refuse to start)."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ----------------------------------------------------------------------------- data keys


@dataclass(frozen=True, repr=False)
class DataKey:
    key_id: str
    material: bytes  # never logged: repr is hidden

    def __repr__(self) -> str:
        return f"DataKey({self.key_id})"

    # Derived once per key (a batch opens and seals many values with each).
    @functools.cached_property
    def _aad(self) -> bytes:
        return f"{SEALED_PREFIX}{self.key_id}".encode()

    @functools.cached_property
    def _cipher(self) -> AESGCM:
        return AESGCM(self.material[:32])

    def seal(self, plaintext: str) -> str:
        """The sealed form of `plaintext`; the same key and text always give the same value."""
        data = plaintext.encode()
        nonce = hmac.new(self.material[32:], self._aad + b"\0" + data, hashlib.sha256).digest()
        nonce = nonce[:NONCE_BYTES]
        sealed = self._cipher.encrypt(nonce, data, self._aad)
        return f"{SEALED_PREFIX}{self.key_id}:{_b64encode(nonce + sealed)}"

    def open(self, value: str) -> str:
        # The prefix names the key; a malformed rest fails to decode or to authenticate.
        if not value.startswith(f"{SEALED_PREFIX}{self.key_id}:"):
            raise Unreadable("the value is not sealed with this key")
        try:
            blob = _b64decode(value.rsplit(":", 1)[1])
            nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
            return self._cipher.decrypt(nonce, sealed, self._aad).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise Unreadable("the value does not decrypt under its key") from None

    @property
    def _bytes_aad(self) -> bytes:
        return f"{SEALED_BYTES_PREFIX}{self.key_id}".encode()

    def seal_bytes(self, data: bytes) -> bytes:
        """A document sealed with this key: `nonce | AES-256-GCM(data)`, the key id bound as
        associated data. The nonce is random (documents need no equality lookups); the
        caller stores the key id beside the blob."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self.material[:32]).encrypt(nonce, data, self._bytes_aad)

    def open_bytes(self, blob: bytes) -> bytes:
        try:
            return AESGCM(self.material[:32]).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._bytes_aad
            )
        except (InvalidTag, ValueError):
            raise Unreadable("the document does not decrypt under its key") from None


def new_data_key() -> DataKey:
    return DataKey(secrets.token_hex(16), secrets.token_bytes(DEK_BYTES))


# ----------------------------------------------------------------------------- master keys


DEV_MASTER_KEYS = "dev:" + _b64encode(hashlib.sha256(b"lapor-dev-master-key").digest())
DEV_IDENTITY_KEY = "lapor-dev-identity-key"


@dataclass(frozen=True, repr=False)
class MasterKeys:
    """Key-encryption keys by version; the first is current (wraps), older ones only unwrap."""

    versions: tuple[tuple[str, bytes], ...]

    def __repr__(self) -> str:
        return f"MasterKeys({', '.join(version for version, _ in self.versions)})"

    @classmethod
    def parse(cls, spec: str) -> MasterKeys:
        """`v2:<base64 of 32 bytes>,v1:<...>`."""
        versions: list[tuple[str, bytes]] = []
        for item in filter(None, (part.strip() for part in spec.split(","))):
            version, _, encoded = item.partition(":")
            try:
                key = _b64decode(encoded.strip())
            except (ValueError, binascii.Error):
                raise KeyConfigError(f"master key {version!r} is not base64") from None
            if not version or len(key) != MASTER_KEY_BYTES:
                raise KeyConfigError(f"master key {version!r} must be 32 bytes, base64-encoded")
            if any(version == seen for seen, _ in versions):
                raise KeyConfigError(f"master key version {version!r} is given twice")
            versions.append((version.strip(), key))
        if not versions:
            raise KeyConfigError("no master key configured")
        return cls(tuple(versions))

    @property
    def current(self) -> str:
        return self.versions[0][0]

    def key(self, version: str) -> bytes:
        for known, key in self.versions:
            if known == version:
                return key
        raise KeyConfigError(f"master key version {version!r} is not configured")

    def wrap(self, dek: DataKey) -> tuple[str, bytes]:
        """(master version, nonce | wrapped DEK), bound to the key id and the version."""
        version = self.current
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = f"lapor-dek:{dek.key_id}:{version}".encode()
        return version, nonce + AESGCM(self.key(version)).encrypt(nonce, dek.material, aad)

    def unwrap(self, key_id: str, version: str, wrapped: bytes) -> DataKey:
        aad = f"lapor-dek:{key_id}:{version}".encode()
        try:
            material = AESGCM(self.key(version)).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad
            )
        except InvalidTag:
            raise KeyConfigError(f"data key {key_id} does not unwrap with {version!r}") from None
        return DataKey(key_id, material)


def new_master_key() -> str:
    """A fresh master key, base64url-encoded, for LAPOR_MASTER_KEYS."""
    return _b64encode(secrets.token_bytes(MASTER_KEY_BYTES))


def keys_from_env(env: Mapping[str, str] | None = None) -> tuple[MasterKeys, bytes]:
    """(master keys, identity key) from LAPOR_MASTER_KEYS and LAPOR_IDENTITY_KEY.

    Outside production (LAPOR_ENV != "production") fixed development keys stand in, so a
    laptop and the tests run without setup; production refuses to start without real keys.
    """
    env = os.environ if env is None else env
    production = env.get("LAPOR_ENV", "development").strip().lower() == "production"
    master = env.get("LAPOR_MASTER_KEYS", "").strip()
    identity = env.get("LAPOR_IDENTITY_KEY", "").strip()
    if production and not (master and identity):
        raise KeyConfigError("LAPOR_MASTER_KEYS and LAPOR_IDENTITY_KEY are required in production")
    return MasterKeys.parse(master or DEV_MASTER_KEYS), (identity or DEV_IDENTITY_KEY).encode()


# ----------------------------------------------------------------------------- identities


def identity_of(nik: str | None, phone: str | None, email: str | None) -> str | None:
    """The reporter's identity, normalised: NIK if given, else phone, else email.

    One identity, one data key, across all of a reporter's complaints and channels.
    """
    if nik and (digits := "".join(ch for ch in nik if ch.isdigit())):
        return "nik:" + digits
    if phone and (digits := "".join(ch for ch in phone if ch.isdigit())):
        return "phone:" + digits
    if email and email.strip():
        return "email:" + email.strip().lower()
    return None


def identity_digest(identity_key: bytes, identity: str) -> str:
    """A keyed hash of an identity: the keystore's lookup key, never the identity itself."""
    return hmac.new(identity_key, identity.encode(), hashlib.sha256).hexdigest()


MESSAGE_REF_PREFIX = "wref1:"


def whatsapp_message_ref(identity_key: bytes, wamid: str) -> str:
    """What Lapor keeps of a WhatsApp message id (`wamid`): a keyed hash, since a real wamid
    is base64 that encodes the sender's number. Intake (dedup, idempotency keys, the status
    events it publishes) and the notifier (the ids of the messages it sent) derive it with
    the same shared key, so equal wamids still meet. A value that is a ref already is
    returned as it is (an event published before the change carries the plain wamid)."""
    if wamid.startswith(MESSAGE_REF_PREFIX):
        return wamid
    return MESSAGE_REF_PREFIX + identity_digest(identity_key, f"whatsapp-message:{wamid}")


# ----------------------------------------------------------------------------- models


@functools.cache
def _fields_of(model: type[BaseModel]) -> tuple[tuple[str, ...], frozenset[str]]:
    """A model class's field names and its personal ones (read once per class: every
    event of a batch is walked)."""
    return tuple(model.model_fields), personal_field_names(model)


def map_personal(value: Any, change: Callable[[str], str | None]) -> Any:
    """A copy of `value` with `change` applied to every personal-data string in it (fields
    marked `PersonalStr`, at any depth)."""
    if isinstance(value, BaseModel):
        names, personal = _fields_of(type(value))
        updates: dict[str, Any] = {}
        for name in names:
            item = getattr(value, name)
            if name in personal and isinstance(item, str):
                new = change(item)
            elif isinstance(item, BaseModel | tuple | list):
                new = map_personal(item, change)
            else:
                continue
            if new is not item:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, tuple | list):
        items = [map_personal(item, change) for item in value]
        return (
            type(value)(items)
            if any(a is not b for a, b in zip(items, value, strict=True))
            else value
        )
    return value


def personal_values(value: Any) -> list[str]:
    found: list[str] = []

    def collect(item: str) -> str:
        found.append(item)
        return item

    map_personal(value, collect)
    return found


def seal_model(model: M, key: DataKey) -> M:
    """Every personal field sealed with `key`; already sealed values stay as they are."""
    result: M = map_personal(model, lambda v: v if is_sealed(v) else key.seal(v))
    return result


def open_value(value: str, keys: Mapping[str, DataKey | None]) -> str | None:
    """The plain value; a plain input as it is; None when its key is gone (erased)."""
    key_id = sealed_key_id(value)
    if key_id is None:
        return value
    key = keys.get(key_id)
    if key is None:
        return None
    try:
        return key.open(value)
    except Unreadable:
        return None


def open_model(model: M, keys: Mapping[str, DataKey | None]) -> M:
    """Every readable personal field opened. A value whose key was erased stays sealed: the
    caller sees the field is present but unreadable (`is_sealed`), and decides what that means
    (triage skips its check; the notifier sends nothing)."""

    def opened(value: str) -> str:
        plain = open_value(value, keys)
        return value if plain is None else plain

    result: M = map_personal(model, opened)
    return result


def open_tree(value: Any, keys: Mapping[str, DataKey | None]) -> Any:
    """A JSON tree (a stored payload) with sealed strings opened, unreadable ones None."""
    if isinstance(value, str):
        return open_value(value, keys) if is_sealed(value) else value
    if isinstance(value, dict):
        return {name: open_tree(item, keys) for name, item in value.items()}
    if isinstance(value, list):
        return [open_tree(item, keys) for item in value]
    return value


def sealed_key_ids_in(value: Any) -> set[str]:
    """Key ids named by the sealed strings in a model or a JSON tree."""
    if isinstance(value, BaseModel):
        return {k for v in personal_values(value) if (k := sealed_key_id(v)) is not None}
    if isinstance(value, str):
        key_id = sealed_key_id(value)
        return {key_id} if key_id else set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return set().union(*(sealed_key_ids_in(item) for item in value))
    return set()
