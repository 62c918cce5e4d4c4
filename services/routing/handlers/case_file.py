"""The agency's case file (issue 14): everything an officer needs to act on a case.

- Kept: intake's ComplaintReceived, as it arrives on lapor.complaints.intake.v1, one row per
  complaint (`keep_case_files`). Its personal fields stay sealed with the reporter's data key,
  so erasing the reporter erases routing's copy too; an anonymous report is kept without any
  identity. The content may come before or after the case opens: the file reads it by the
  case's complaint and its joined reporters' complaints.
- Read: `read_case_file` puts together the complaints' content, the case's history, the
  additions, the documents' metadata and the contacts the agency may see, opening personal
  fields through `adapters.citizen_words`, routing's one way to open sealed words, with the
  key store the bootstrap built (none: nothing sealed opens). Which personal fields it showed
  in the clear, to whom, is recorded (`case_file_openings`) before the page gets them. Values
  whose key was erased read '(data erased)'.
- Documents: each one the file lists gets a short-lived signed link to intake's document
  endpoint (`domain.document_link`, audience `routing:<agency>:<officer>`); issuing a link is
  an opening too, recorded with the document's name (`<tracking code>:documents.<id>`). A
  document whose reporter's key was erased (the key store's answer) gets no link and reads
  `erased`; an anonymous report's documents are linked like any other.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from schemas.events import ComplaintReceived, Event, EventEnvelope
from schemas.events.base import Attachment
from schemas.events.intake import ComplaintReceivedPayload, ComplaintUpdatedPayload
from services.personal_data.keystore import Keystore
from services.routing.adapters import citizen_words, repository, views
from services.routing.adapters.repository import Officer
from services.routing.domain import (
    ADDITION_PATHS,
    COMPLAINT_PATHS,
    INCIDENT_PATHS,
    ChronologyEntry,
    DocumentLinks,
    Entry,
    chronology,
    contact_of,
    contact_paths,
    document_audience,
    document_field,
    document_link,
    personal_fields_shown,
    without_identity,
)


async def keep_case_files(events: list[Event], conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    """The consumer's batch handler for ComplaintReceived: each complaint's content, once."""
    files = []
    for event in events:
        assert isinstance(event, ComplaintReceived)
        payload = without_identity(event.payload)
        files.append(
            repository.NewCaseFile(
                complaint_id=event.complaint_id,
                event_id=event.event_id,
                tracking_code=payload.tracking_code,
                anonymous=payload.anonymous,
                secret=payload.secret,
                payload=payload.model_dump(mode="json"),
                received_at=payload.received_at,
            )
        )
    await repository.keep_case_files(conn, files)
    return ()


async def keep_case_file(event: Event, conn: asyncpg.Connection) -> Sequence[EventEnvelope]:
    return await keep_case_files([event], conn)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Filed:
    complaint_id: uuid.UUID
    tracking_code: str
    original: bool
    payload: ComplaintReceivedPayload  # opened
    erased: bool  # its reporter's key is gone


@dataclass(frozen=True)
class _Added:
    complaint_id: uuid.UUID
    received_at: datetime
    payload: ComplaintUpdatedPayload  # opened
    erased: bool


async def _files(conn: asyncpg.Connection, case_id: Any, keys: Keystore | None) -> list[_Filed]:
    rows = await views.case_files(conn, case_id)
    stored = [ComplaintReceivedPayload.model_validate_json(row["payload"]) for row in rows]
    return [
        _Filed(row["complaint_id"], row["tracking_code"], row["original"], o.model, o.erased)
        for row, o in zip(rows, await citizen_words.opened(keys, conn, stored), strict=True)
    ]


async def _additions(conn: asyncpg.Connection, case_id: Any, keys: Keystore | None) -> list[_Added]:
    rows = await views.case_additions(conn, case_id)
    stored = [
        ComplaintUpdatedPayload(
            tracking_code=row["tracking_code"],
            additional_text=row["additional_text"],
            attachments=tuple(Attachment(**a) for a in json.loads(row["attachments"])),
        )
        for row in rows
    ]
    return [
        _Added(row["complaint_id"], row["received_at"], o.model, o.erased)
        for row, o in zip(rows, await citizen_words.opened(keys, conn, stored), strict=True)
    ]


def fields_shown(files: Sequence[_Filed], additions: Sequence[_Added]) -> list[str]:
    """'<tracking code>:<field>' for every personal field the case file shows in the clear."""
    shown: set[str] = set()
    for filed in files:
        paths = [
            *COMPLAINT_PATHS,
            *(INCIDENT_PATHS if filed.original else ()),
            *contact_paths(filed.payload.anonymous, filed.payload.secret),
        ]
        for path in personal_fields_shown(filed.payload, paths):
            shown.add(f"{filed.tracking_code}:{path}")
    for added in additions:
        for path in personal_fields_shown(added.payload, ADDITION_PATHS):
            shown.add(f"{added.payload.tracking_code}:additions.{path}")
    return sorted(shown)


def _document(
    attachment: Attachment, complaint_id: uuid.UUID, code: str, source: str, at: datetime
) -> dict[str, Any]:
    return {
        "complaint_id": complaint_id,
        "attachment_id": attachment.attachment_id,
        "media_type": attachment.media_type,
        "filename": attachment.filename,
        "size_bytes": attachment.size_bytes,
        "tracking_code": code,
        "source": source,
        "added_at": at,
    }


def _documents(files: Sequence[_Filed], additions: Sequence[_Added]) -> list[dict[str, Any]]:
    documents = [
        _document(a, f.complaint_id, f.tracking_code, "complaint", f.payload.received_at)
        for f in files
        for a in f.payload.attachments
    ]
    documents += [
        _document(a, added.complaint_id, added.payload.tracking_code, "addition", added.received_at)
        for added in additions
        for a in added.payload.attachments
    ]
    return sorted(documents, key=lambda d: d["added_at"])


def _erased(files: Sequence[_Filed], additions: Sequence[_Added]) -> set[uuid.UUID]:
    """The complaints whose reporter's key the key store says is gone."""
    return {f.complaint_id for f in files if f.erased} | {
        a.complaint_id for a in additions if a.erased
    }


def with_links(
    documents: Sequence[dict[str, Any]],
    erased: set[uuid.UUID],
    reader: Officer,
    links: DocumentLinks | None,
    issued_at: datetime,
) -> list[dict[str, Any]]:
    """Each document with its signed link for the reader, or `erased` and no link (and no
    link at all without `links`). `issued_at` is the wall clock."""
    audience = document_audience(reader.agency_code, reader.officer_id)
    linked = []
    for document in documents:
        gone = document["complaint_id"] in erased
        link = None
        if links is not None and not gone:
            link = document_link(
                links,
                document["complaint_id"],
                document["attachment_id"],
                audience,
                issued_at,
            )
        linked.append(
            {
                **document,
                "erased": gone,
                "url": link.url if link else None,
                "url_expires_at": link.expires_at if link else None,
            }
        )
    return linked


def _reporter(filed: _Filed) -> dict[str, Any]:
    contact = contact_of(filed.payload)
    return {
        "tracking_code": filed.tracking_code,
        "original": filed.original,
        "anonymous": filed.payload.anonymous,
        "secret": filed.payload.secret,
        "filed_at": filed.payload.received_at,
        "contact": asdict(contact) if contact is not None else None,
    }


def _story(
    files: Sequence[_Filed], history: Sequence[dict[str, Any]], additions: Sequence[_Added]
) -> list[dict[str, Any]]:
    entries = [
        ChronologyEntry(
            f.payload.received_at,
            Entry.FILED,
            "citizen",
            f.payload.description,
            tracking_code=f.tracking_code,
        )
        for f in files
    ]
    entries += [
        ChronologyEntry(h["at"], Entry.STATUS, h["actor"], h["note"] or h["reason"], h["status"])
        for h in history
    ]
    entries += [
        ChronologyEntry(
            a.received_at,
            Entry.ADDITION,
            "citizen",
            a.payload.additional_text,
            tracking_code=a.payload.tracking_code,
        )
        for a in additions
    ]
    return [asdict(entry) for entry in chronology(entries)]


def _addition(added: _Added) -> dict[str, Any]:
    return {
        "tracking_code": added.payload.tracking_code,
        "additional_text": added.payload.additional_text,
        "attachments": [a.model_dump(mode="json") for a in added.payload.attachments],
        "received_at": added.received_at,
    }


def _location(filed: _Filed | None) -> dict[str, Any] | None:
    if filed is None:
        return None
    return filed.payload.location.model_dump(mode="json")


async def read_case_file(
    conn: asyncpg.Connection,
    case: asyncpg.Record,
    reader: Officer,
    keys: Keystore | None,
    now: datetime,
    links: DocumentLinks | None = None,
) -> dict[str, Any]:
    """The case file of a case the reader may see (the caller checked), for the desk's
    case detail; records the opening when it shows personal data or links to documents
    (no links without `links`). `now` is the case clock; links expire by the wall clock."""
    case_id = case["case_id"]
    history = [
        dict(h)
        for h in await views.case_history(conn, case_id)
        # another agency's internal notes stay with that agency
        if h["agency_code"] == reader.agency_code or h["note"] is None
    ]
    files = await _files(conn, case_id, keys)
    additions = await _additions(conn, case_id, keys)
    documents = with_links(
        _documents(files, additions),
        _erased(files, additions),
        reader,
        links,
        datetime.now(UTC),
    )
    shown = fields_shown(files, additions) + [
        document_field(d["tracking_code"], d["attachment_id"]) for d in documents if d.get("url")
    ]
    if shown:  # recorded before anything is shown: no record, no data
        await repository.record_opening(conn, case_id, reader, now, shown)
    original = next((f for f in files if f.original), None)
    return {
        "history": history,
        "deadlines": [dict(d) for d in await views.case_deadlines(conn, case_id)],
        "additions": [_addition(a) for a in additions],
        "description": original.payload.description if original else None,
        "location": _location(original),
        "reporters": [_reporter(f) for f in files],
        "documents": documents,
        "chronology": _story(files, history, additions),
    }
