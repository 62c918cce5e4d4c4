"""The WhatsApp Business Cloud API webhook's wire format, pure: signature check and parsing.

Meta signs every POST with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app
secret)>`. The check runs on the raw bytes (never re-serialised JSON, which would change
escapes of emoji and accents) and in constant time. Parsing keeps only what intake uses and
ignores fields Meta adds later.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Stable namespace for ids derived from WhatsApp message ids (replays give the same ids).
WHATSAPP_NAMESPACE = uuid.UUID("6f1d9a52-3c1e-4c53-9f5e-0f6bde6b8a11")
MEDIA_TYPES = ("image", "document", "video", "audio", "sticker")


class InvalidWebhook(ValueError):
    pass


def signature_matches(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """True when the header carries the HMAC-SHA256 of the raw body under the app secret."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.removeprefix("sha256=").encode())


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta would send (used by tests and the load script)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


_T = TypeVar("_T", bound=_Lenient)


class Media(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    media_id: str
    mime_type: str = "application/octet-stream"
    filename: str | None = None
    caption: str | None = None
    # Known once intake downloaded the bytes (then `mime_type` is the sniffed type).
    size_bytes: int | None = None
    sha256: str | None = None


class Pin(BaseModel):
    """A location pin: where the citizen says the problem is (name and address optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = None
    address: str | None = None


class InboundMessage(BaseModel):
    """One message a citizen sent, as intake keeps it in its inbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str
    wa_id: str
    profile_name: str | None = None
    sent_at: datetime
    kind: str
    text: str | None = None
    media: Media | None = None
    location: Pin | None = None
    phone_number_id: str | None = None


class StatusCallback(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_message_id: str
    status: Literal["sent", "delivered", "read", "failed"]
    status_at: datetime
    recipient: str
    error_codes: tuple[str, ...] = ()
    callback_data: str | None = None


class WebhookBatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusCallback, ...] = ()
    ignored: int = 0


# --- Meta's payload, leniently: unknown fields are ignored, required ones are checked.


class _Text(_Lenient):
    body: str


class _MediaObject(_Lenient):
    id: str
    mime_type: str | None = None
    filename: str | None = None
    caption: str | None = None


class _Interactive(_Lenient):
    type: str | None = None
    button_reply: dict[str, Any] | None = None
    list_reply: dict[str, Any] | None = None


class _Location(_Lenient):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = None
    address: str | None = None


class _Button(_Lenient):
    text: str | None = None


class _Message(_Lenient):
    from_: str = Field(alias="from")
    id: str
    timestamp: str
    type: str
    text: _Text | None = None
    image: _MediaObject | None = None
    document: _MediaObject | None = None
    video: _MediaObject | None = None
    audio: _MediaObject | None = None
    sticker: _MediaObject | None = None
    interactive: _Interactive | None = None
    button: _Button | None = None
    location: _Location | None = None


class _Profile(_Lenient):
    name: str | None = None


class _Contact(_Lenient):
    wa_id: str
    profile: _Profile | None = None


class _Error(_Lenient):
    code: int | str


class _Conversation(_Lenient):
    id: str | None = None


class _Status(_Lenient):
    id: str
    status: str
    timestamp: str
    recipient_id: str
    errors: list[_Error] = []
    biz_opaque_callback_data: str | None = None


class _Metadata(_Lenient):
    phone_number_id: str | None = None


class _Value(_Lenient):
    metadata: _Metadata | None = None
    contacts: list[dict[str, Any]] = []
    # Validated one by one, so one odd item (a new message type without `from`, say) is
    # skipped and counted instead of making Meta retry the whole notification for days.
    messages: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []


class _Change(_Lenient):
    field: str
    value: _Value


class _Entry(_Lenient):
    id: str | None = None
    changes: list[_Change] = []


class _Notification(_Lenient):
    object: Literal["whatsapp_business_account"]
    entry: list[_Entry]


def _inbound(
    message: _Message, names: dict[str, str], phone_number_id: str | None
) -> InboundMessage | None:
    text: str | None = None
    media: Media | None = None
    location: Pin | None = None
    if message.type == "text" and message.text is not None:
        text = message.text.body
    elif message.type == "interactive" and message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply or {}
        text = str(reply.get("title") or reply.get("id") or "") or None
    elif message.type == "button" and message.button is not None:
        text = message.button.text
    elif message.type in MEDIA_TYPES:
        obj = getattr(message, message.type)
        if obj is not None:
            media = Media(
                media_id=obj.id,
                mime_type=obj.mime_type or "application/octet-stream",
                filename=obj.filename,
                caption=obj.caption,
            )
    elif message.type == "location" and message.location is not None:
        pin = message.location
        location = Pin(
            latitude=pin.latitude,
            longitude=pin.longitude,
            name=(pin.name or "").strip()[:200] or None,
            address=(pin.address or "").strip()[:500] or None,
        )
    sent_at = _timestamp_or_none(message.timestamp)
    if sent_at is None:
        return None
    return InboundMessage(
        message_id=message.id,
        wa_id=message.from_,
        profile_name=names.get(message.from_),
        sent_at=sent_at,
        kind=message.type,
        text=text,
        media=media,
        location=location,
        phone_number_id=phone_number_id,
    )


def parse_notification(data: object) -> WebhookBatch:
    """Every message and status of every entry and change in one webhook POST."""
    try:
        notification = _Notification.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)[:5]
        )
        raise InvalidWebhook(f"not a WhatsApp Business Account notification: {problems}") from None
    messages: list[InboundMessage] = []
    statuses: list[StatusCallback] = []
    ignored = 0
    for entry in notification.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue
            value = change.value
            names: dict[str, str] = {}
            for raw_contact in value.contacts:
                contact = _parsed(_Contact, raw_contact)
                if contact is not None and contact.profile is not None and contact.profile.name:
                    names[contact.wa_id] = contact.profile.name
            phone_number_id = value.metadata.phone_number_id if value.metadata else None
            for raw_message in value.messages:
                message = _parsed(_Message, raw_message)
                inbound = _inbound(message, names, phone_number_id) if message else None
                if inbound is None:
                    ignored += 1
                else:
                    messages.append(inbound)
            for raw_status in value.statuses:
                status = _parsed(_Status, raw_status)
                if status is None or status.status not in ("sent", "delivered", "read", "failed"):
                    ignored += 1  # e.g. "deleted" or "warning": nothing for the notifier
                    continue
                status_at = _timestamp_or_none(status.timestamp)
                if status_at is None:
                    ignored += 1
                    continue
                statuses.append(
                    StatusCallback(
                        provider_message_id=status.id,
                        status=status.status,  # type: ignore[arg-type]
                        status_at=status_at,
                        recipient=status.recipient_id,
                        error_codes=tuple(str(error.code) for error in status.errors),
                        callback_data=(status.biz_opaque_callback_data or None),
                    )
                )
    return WebhookBatch(messages=tuple(messages), statuses=tuple(statuses), ignored=ignored)


def _parsed(model: type[_T], data: object) -> _T | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _timestamp_or_none(raw: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def status_event_ids(status: StatusCallback) -> tuple[uuid.UUID, uuid.UUID]:
    """(event_id, correlation_id) for a status: one id per (wamid, status), so Meta's retries
    of the same callback are absorbed, and one key per wamid, so its statuses stay in order."""
    correlation_id = uuid.uuid5(WHATSAPP_NAMESPACE, f"wamid:{status.provider_message_id}")
    return uuid.uuid5(correlation_id, status.status), correlation_id
