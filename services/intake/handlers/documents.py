"""Documents: sealing what citizens hand in, and opening it for those allowed to read it.

Every document is kept sealed with its reporter's data key (`DataKey.seal_bytes`, the key
id beside it), so erasing the reporter makes it unreadable like their personal fields.
Who may open one: the report's owner after ownership proof (`owner_api`), and staff of other
services through a signed link (`schemas.document_links`, `documents_api`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from schemas.events import Attachment
from services.intake.adapters import repository, views
from services.intake.domain.documents import sniff
from services.personal_data.field_crypto import DataKey, Unreadable
from services.personal_data.keystore import Keystore


def seal_documents(
    key: DataKey, uploads: Sequence[tuple[Attachment, bytes]]
) -> list[repository.SealedDocument]:
    return [
        repository.SealedDocument(attachment.attachment_id, key.key_id, key.seal_bytes(data))
        for attachment, data in uploads
        if data
    ]


@dataclass(frozen=True)
class OpenedDocument:
    media_type: str  # sniffed from the opened bytes, not the stored label
    filename: str | None
    content: bytes


class DocumentErased(Exception):
    """The document's key was erased (the reporter asked to be forgotten): gone for good."""


async def open_document(
    conn: asyncpg.Connection, keys: Keystore, complaint_id: uuid.UUID, attachment_id: str
) -> OpenedDocument | None:
    """The document in the clear; None when there is no such document (or no bytes were ever
    kept for it); raises `DocumentErased` when its key is gone."""
    row = await views.document(conn, complaint_id, attachment_id)
    if row is None or row["content"] is None:
        return None
    content: bytes = row["content"]
    if row["key_id"] is not None:  # rows from before sealing hold the plain bytes
        try:
            opened = await keys.open_bytes(conn, row["key_id"], content)
        except Unreadable:
            opened = None
        if opened is None:
            raise DocumentErased(attachment_id)
        content = opened
    media_type = sniff(content) or "application/octet-stream"
    return OpenedDocument(media_type, row["filename"], content)
