"""Reviewers' commands on the review queue: enqueue, claim, ban, decide.

- triage's batch queues its ComplaintNeedsReview items with its decisions
  (`adapters.repository.enqueue_reviews`); `enqueue` queues one (idempotent);
- reviewers list (`adapters.views`), claim, then accept, reject with a reason, or mark as a
  duplicate of another report. Only the reviewer who claimed an item may decide it;
- a decision updates the item, appends to `review_log` and puts the resulting event in the
  outbox, all in one transaction (see `adapters.repository`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.events import ComplaintReceived, EventEnvelope
from schemas.personal_data import ERASED
from services.personal_data.field_crypto import sealed_key_ids_in
from services.triage.adapters.personal_data import PersonalDataReader
from services.triage.adapters.repository import ReviewRepository, ReviewRow
from services.triage.adapters.views import review_item
from services.triage.domain.review import (
    PAST,
    Ban,
    ReviewDecision,
    ReviewError,
    already_decided,
    ban_note,
    check_claim,
    complaint_id_of,
    decision_event,
)
from services.triage.domain.rules import assess
from services.triage.domain.sealing import Keys


async def enqueue(
    repository: ReviewRepository,
    received: ComplaintReceived,
    decision: EventEnvelope,
    reporter_key: str | None = None,
    *,
    sealed: ComplaintReceived | None = None,
    similar: list[dict[str, Any]] | None = None,
) -> None:
    """Queue `received` (its chronology opened, to assess it); the queue keeps the
    chronology as `sealed` holds it (the complaint as it came, sealed with the reporter's
    key), so erasing the reporter leaves nothing readable in `review_items`. `similar`: the
    earlier complaints it resembles (`stages.resembling_complaints`), signatures sealed."""
    stored = sealed or received
    assessment = assess(received.payload)
    await repository.enqueue(ReviewRow(stored, assessment, decision, reporter_key, similar or []))


async def shown(
    personal_data: PersonalDataReader, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Queue items for reviewers: the chronology and the resembling complaints' signatures
    opened (one key store round trip); an erased reporter's as erased."""
    sealed = [item["description"] for item in items]
    sealed += [other["signature"] for item in items for other in item.get("similar", [])]
    texts = iter(await personal_data.texts(sealed))
    opened = [{**item, "description": _or_erased(next(texts))} for item in items]
    for item in opened:
        item["similar"] = [
            {**other, "signature": _or_erased(next(texts))} for other in item.get("similar", [])
        ]
    return opened


def _or_erased(text: str | None) -> str:
    return ERASED if text is None else text


async def claim(
    repository: ReviewRepository,
    personal_data: PersonalDataReader,
    raw_id: str,
    reviewer: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Take the item (or renew one's own lapsed claim; a lapsed claim of another reviewer is
    taken over). 409 while another reviewer holds it."""
    complaint_id = complaint_id_of(raw_id)
    async with repository.transaction() as queue:
        row = await queue.item_for_update(complaint_id)
        if check_claim(row, reviewer, now or datetime.now(UTC)):
            row = await queue.mark_claimed(complaint_id, reviewer)
    return (await shown(personal_data, [review_item(row)]))[0]


async def ban(
    repository: ReviewRepository, raw_id: str, reviewer: str, banned: bool, note: str
) -> Ban:
    """Ban (or unban) the reporter of this report, recording who and why, in one transaction:
    triage's next batch reads the ban from `reporter_bans`. Their later reports are kept and
    rejected with `reporter_banned`, never forwarded."""
    complaint_id = complaint_id_of(raw_id)
    note = ban_note(banned, note)
    async with repository.transaction() as queue:
        key = await queue.reporter_key(complaint_id)
        if key is None:
            raise ReviewError(404, "no such item in the review queue, or no reporter to ban")
        await queue.ban(complaint_id, key, reviewer, banned, note)
    return Ban(key, banned, reviewer, note)


async def decide(
    repository: ReviewRepository,
    personal_data: PersonalDataReader,
    raw_id: str,
    reviewer: str,
    decision: ReviewDecision,
) -> dict[str, Any]:
    complaint_id = complaint_id_of(raw_id)
    async with repository.transaction() as queue:
        row = await queue.item_for_update(complaint_id)
        if already_decided(row, complaint_id, reviewer, decision):
            assert row is not None
            # A retried request: already done, nothing new published.
            return (await shown(personal_data, [review_item(row)]))[0]
        assert row is not None
        description = row["description"]
        keys = Keys.of(description, await personal_data.data_keys(sealed_key_ids_in(description)))
        row = await queue.mark_decided(
            complaint_id,
            reviewer,
            PAST[decision.action],
            action=decision.action,
            reason_code=decision.reason_code,
            category=decision.category,
            note=decision.note,
            original_complaint_id=decision.original_complaint_id,
            event=decision_event(row, decision, reviewer, summary=keys.summary(description)),
        )
    return (await shown(personal_data, [review_item(row)]))[0]
