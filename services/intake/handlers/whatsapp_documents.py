"""WhatsApp documents: a photo or PDF a citizen sends is downloaded when its message is
handled (Meta's media ids expire after 7 days), checked like a web upload
(`domain.documents`: type by content, size), and kept sealed:
- while the conversation is still being built, staged under the key of the sender's WhatsApp
  number (`whatsapp_media`), then moved under the reporter's key when the complaint is filed;
- with a `TAMBAH#` addition, stored with the addition at once (`follow_ups.add_update`).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from schemas.events import Attachment
from services.intake.adapters import repository, whatsapp_inbox, whatsapp_media
from services.intake.domain.conversation import USABLE_MEDIA
from services.intake.domain.documents import DocumentRefused, Refusal, checked_document
from services.intake.domain.whatsapp import InboundMessage
from services.intake.settings import IntakeSettings
from services.personal_data.field_crypto import identity_of
from services.personal_data.keystore import Keystore


def carries_document(message: InboundMessage) -> bool:
    return message.media is not None and message.kind in USABLE_MEDIA


async def receive_document(
    message: InboundMessage, settings: IntakeSettings
) -> tuple[InboundMessage, bytes]:
    """The message with its media's sniffed type, size and digest, and the bytes; raises
    `DocumentRefused` (the citizen is told why) or `MediaTemporarilyUnavailable` (retry)."""
    media = message.media
    assert media is not None
    name = (media.filename or "")[:200]
    limit = settings.max_attachment_bytes
    try:
        data = await whatsapp_media.download(settings, media.media_id, limit)
    except whatsapp_media.MediaTooLarge:
        raise DocumentRefused(Refusal.TOO_LARGE, name) from None
    except whatsapp_media.MediaUnavailable:
        raise DocumentRefused(Refusal.UNAVAILABLE, name) from None
    attachment = checked_document(
        data, max_bytes=limit, attachment_id=f"whatsapp:{media.media_id}", filename=name
    )
    checked = media.model_copy(
        update={
            "mime_type": attachment.media_type,
            "size_bytes": attachment.size_bytes,
            "sha256": attachment.sha256,
        }
    )
    return message.model_copy(update={"media": checked}), data


async def stage(
    conn: asyncpg.Connection, keys: Keystore, message: InboundMessage, data: bytes
) -> None:
    """Keep a conversation's document, sealed under the sender's number's key."""
    media = message.media
    assert media is not None and media.sha256 is not None
    key = await keys.key_for(conn, identity_of(None, message.wa_id, None))
    attachment = Attachment(
        attachment_id=f"whatsapp:{media.media_id}",
        media_type=media.mime_type,
        size_bytes=len(data),
        sha256=media.sha256,
    )
    document = repository.SealedDocument(attachment.attachment_id, key.key_id, key.seal_bytes(data))
    sender = whatsapp_inbox.sender_of(keys, message.wa_id)
    await repository.stage_whatsapp_media(conn, sender, attachment, document)


async def staged_uploads(
    conn: asyncpg.Connection, keys: Keystore, wa_id: str, attachments: Sequence[Attachment]
) -> list[tuple[Attachment, bytes]]:
    """The conversation's staged documents in the clear, for filing (which seals them under
    the reporter's key)."""
    staged = await repository.staged_whatsapp_media(
        conn, whatsapp_inbox.sender_of(keys, wa_id), [a.attachment_id for a in attachments]
    )
    by_id = {a.attachment_id: a for a in attachments}
    uploads = []
    for document in staged:
        data = await keys.open_bytes(conn, document.key_id, document.content)
        if data is not None:
            uploads.append((by_id[document.attachment_id], data))
    return uploads
