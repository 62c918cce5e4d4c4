"""The chaos run's scripted citizens (pure parts of `ops.chaos`): the guided WhatsApp
conversation it sends files a complaint with both documents, its documents are what intake
keeps, and its search for document bytes on the topics finds them however they are encoded."""

from __future__ import annotations

import base64
import json
import random
import uuid

from ops.chaos import (
    CHANNELS,
    carries_documents,
    chaos_document,
    conversation_messages,
    document_traces,
    gets_addition,
    whatsapp_notification,
)
from ops.chaos_complaints import distinct_complaint
from schemas.regions import regency
from services.intake.domain.conversation import handle_message
from services.intake.domain.documents import checked_document, sniff
from services.intake.domain.whatsapp import WHATSAPP_NAMESPACE, parse_notification

MEDIA = {"photo": chaos_document("png", "t-photo"), "letter": chaos_document("pdf", "t-letter")}


def test_the_scripted_conversation_files_the_complaint_with_both_documents() -> None:
    body = distinct_complaint(4, random.Random(7))
    place = regency(body["region_code"])
    assert place is not None
    draft, outcome = None, None
    for number, message in enumerate(conversation_messages(body, place.name, "photo", "letter")):
        raw = whatsapp_notification("6285700000004", f"wamid.T.{number}", message)
        (inbound,) = parse_notification(json.loads(raw)).messages
        if inbound.media is not None:  # as intake's worker fills it in after downloading
            attachment = checked_document(MEDIA[inbound.media.media_id], max_bytes=1 << 20)
            media = inbound.media.model_copy(
                update={"sha256": attachment.sha256, "size_bytes": attachment.size_bytes}
            )
            inbound = inbound.model_copy(update={"media": media})
        outcome = handle_message(draft, inbound, "LPR-TEST-TEST-TE")
        draft = outcome.draft
    assert outcome is not None and outcome.submission is not None and draft is None
    assert outcome.complaint_id == uuid.uuid5(WHATSAPP_NAMESPACE, "draft:wamid.T.0")
    ids = [a.attachment_id for a in outcome.submission.attachments]
    assert ids == ["whatsapp:photo", "whatsapp:letter"]
    assert outcome.submission.region_code == body["region_code"]


def test_chaos_documents_are_kept_types_and_distinct() -> None:
    assert sniff(chaos_document("pdf", "1")) == "application/pdf"
    assert sniff(chaos_document("png", "1")) == "image/png"
    one, eleven = chaos_document("pdf", "1"), chaos_document("pdf", "11")
    assert document_traces(one)[0] not in eleven  # a label is not a prefix of another's


def test_document_bytes_are_found_raw_hex_or_base64_but_not_in_a_reference() -> None:
    for data in MEDIA.values():
        traces = document_traces(data)
        encodings = (
            data,
            data.hex().encode(),
            base64.b64encode(data),
            base64.urlsafe_b64encode(data),
            json.dumps({"content": base64.b64encode(data).decode()}).encode(),
        )
        for encoded in encodings:
            assert any(trace in encoded for trace in traces)
        reference = checked_document(data, max_bytes=1 << 20).model_dump_json().encode()
        assert not any(trace in reference for trace in traces)


def test_documents_and_additions_are_a_share_of_the_run() -> None:
    documents = sum(carries_documents(i) for i in range(500))
    additions = sum(gets_addition(i) for i in range(500))
    assert 50 <= documents <= 100 and 50 <= additions <= 100
    walk_in = CHANNELS.index("walk_in")
    assert not any(carries_documents(i) for i in range(walk_in, 500, len(CHANNELS)))
    for channel in range(len(CHANNELS)):
        assert any(gets_addition(i) for i in range(channel, 500, len(CHANNELS)))
