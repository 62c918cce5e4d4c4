"""The one mechanism that marks personal data (UU PDP) in the event schema.

A field typed `PersonalStr` carries `"x-personal-data": true` in its JSON Schema and in the
pydantic field metadata. `masked()` walks any model and replaces those values, so logs and
dead-letter inspection never print a NIK, phone number, name, email or address.

The same marker drives field-level encryption (UU PDP, crypto-shredding): producers seal every
personal field with the reporter's data key before the event is stored or published
(`services.personal_data.field_crypto`, `services.personal_data.keystore`). A sealed value is a
self-describing string, `pd1:<key_id>:<base64url(nonce | AES-256-GCM ciphertext)>`; only
services that need the plain value open it. A plain string is still a valid value (older
events, tests), so the schema stays `str`. See docs/personal-data.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Annotated, Any, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field
from pydantic.fields import FieldInfo

PERSONAL_DATA_KEY = "x-personal-data"
ENCODING_KEY = "x-personal-data-encoding"
MASK = "***"
# What every service shows in place of a personal value whose reporter's key was erased.
ERASED = "(data erased)"
SEALED_PREFIX = "pd1:"
SEALED_FORMAT = (
    "pd1:<key_id>:<base64url(nonce|ciphertext)> (AES-256-GCM with the reporter's data key;"
    " see docs/personal-data.md), or plain text from producers that do not seal"
)

PersonalStr = Annotated[
    str, Field(json_schema_extra={PERSONAL_DATA_KEY: True, ENCODING_KEY: SEALED_FORMAT})
]

_SEALED = re.compile(r"^pd1:([0-9a-f]{32}):[A-Za-z0-9_-]+$")
PLAIN_MAX_LENGTH_KEY = "x-personal-data-max-plain-length"
# A sealed value: "pd1:" + 32 hex + ":" + base64url(12-byte nonce | UTF-8 text | 16-byte tag).
_SEALED_OVERHEAD = len(SEALED_PREFIX) + 32 + 1
_UTF8_MAX_BYTES = 4


def sealed_max_length(plain_max_length: int) -> int:
    """The longest sealed form of a text of at most `plain_max_length` characters."""
    data = 12 + plain_max_length * _UTF8_MAX_BYTES + 16
    return _SEALED_OVERHEAD + -(-data * 4 // 3)


@dataclass(frozen=True)
class PlainMaxLength:
    """Metadata naming the longest text a `personal_text` field takes (its plain form);
    pydantic ignores it, the validator and tests read it."""

    max_length: int


def personal_text(max_length: int, min_length: int = 0) -> Any:
    """A `PersonalStr` for the citizen's own words (a chronology, an addition, a reply), with
    length limits. `max_length` binds the text itself: it is checked on a plain value, i.e. at
    the producer, which builds the event before sealing it (the citizen's precise 4xx comes
    from the intake API's own models). A sealed value is longer than its text, so it is held
    only to the sealed length of `max_length` characters (the JSON Schema's maxLength)."""

    def in_bounds(value: str) -> str:
        limit = sealed_max_length(max_length) if is_sealed(value) else max_length
        if len(value) > limit:
            raise ValueError(f"must be at most {max_length} characters long")
        return value

    extra = {
        PERSONAL_DATA_KEY: True,
        ENCODING_KEY: SEALED_FORMAT,
        PLAIN_MAX_LENGTH_KEY: max_length,
        "maxLength": sealed_max_length(max_length),
    }
    field = Field(min_length=min_length or None, json_schema_extra=extra)  # type: ignore[arg-type]
    return Annotated[str, field, PlainMaxLength(max_length), AfterValidator(in_bounds)]


def is_sealed(value: object) -> bool:
    """True for a sealed personal-data value (it may or may not still be readable)."""
    return sealed_key_id(value) is not None


def sealed_key_id(value: object) -> str | None:
    """The data key a sealed value names (not secret: it names the key, not the person)."""
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return None  # plain text: no scan of the whole value
    match = _SEALED.match(value)
    return match.group(1) if match else None


def _marks_personal(meta: object) -> bool:
    extra = getattr(meta, "json_schema_extra", None)
    return isinstance(extra, dict) and bool(extra.get(PERSONAL_DATA_KEY))


def _annotation_is_personal(annotation: object) -> bool:
    # `PersonalStr | None` keeps the marker inside the union's Annotated member.
    if get_origin(annotation) is Annotated:
        return any(_marks_personal(meta) for meta in get_args(annotation)[1:])
    return any(_annotation_is_personal(arg) for arg in get_args(annotation))


def is_personal(field: FieldInfo) -> bool:
    return (
        _marks_personal(field)
        or any(_marks_personal(meta) for meta in field.metadata)
        or _annotation_is_personal(field.annotation)
    )


@cache
def personal_field_names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, field in model.model_fields.items() if is_personal(field))


def masked(value: Any) -> Any:
    """A JSON-ready copy of `value` with every personal-data field replaced by a mask."""
    if isinstance(value, BaseModel):
        personal = personal_field_names(type(value))
        result: dict[str, Any] = {}
        for name in type(value).model_fields:
            item = getattr(value, name)
            result[name] = MASK if name in personal and item is not None else masked(item)
        return result
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
