"""Reviewers' commands on the review queue: enqueue, claim, ban, decide.

- `enqueue` puts a ComplaintNeedsReview in the queue (idempotent: a replay changes nothing);
- reviewers list (`adapters.views`), claim, then accept, reject with a reason, or mark as a
  duplicate of another report. Only the reviewer who claimed an item may decide it;
- a decision updates the item, appends to `review_log` and puts the resulting event in the
  outbox, all in one transaction (see `adapters.repository`).
"""

from __future__ import annotations

from typing import Any

from schemas.events import ComplaintReceived, EventEnvelope
from services.triage.adapters.repository import ReviewRepository
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


async def enqueue(
    repository: ReviewRepository,
    received: ComplaintReceived,
    decision: EventEnvelope,
    reporter_key: str | None = None,
) -> None:
    await repository.enqueue(received, assess(received.payload), decision, reporter_key)


async def claim(repository: ReviewRepository, raw_id: str, reviewer: str) -> dict[str, Any]:
    complaint_id = complaint_id_of(raw_id)
    async with repository.transaction() as queue:
        row = check_claim(await queue.item_for_update(complaint_id), reviewer)
        if row["status"] == "open":
            row = await queue.mark_claimed(complaint_id, reviewer)
        return review_item(row)


async def ban(
    repository: ReviewRepository, raw_id: str, reviewer: str, banned: bool, note: str
) -> Ban:
    """Record who banned (or unbanned) the reporter of this report and why. Their later reports
    are kept and rejected with `reporter_banned`, never forwarded."""
    complaint_id = complaint_id_of(raw_id)
    note = ban_note(banned, note)
    async with repository.transaction() as queue:
        key = await queue.reporter_key(complaint_id)
        if key is None:
            raise ReviewError(404, "no such item in the review queue, or no reporter to ban")
        await queue.log_ban(complaint_id, reviewer, banned, note)
    return Ban(key, banned, reviewer, note)


async def decide(
    repository: ReviewRepository, raw_id: str, reviewer: str, decision: ReviewDecision
) -> dict[str, Any]:
    complaint_id = complaint_id_of(raw_id)
    async with repository.transaction() as queue:
        row = await queue.item_for_update(complaint_id)
        if already_decided(row, complaint_id, reviewer, decision):
            assert row is not None
            return review_item(row)  # a retried request: already done, nothing new published
        assert row is not None
        row = await queue.mark_decided(
            complaint_id,
            reviewer,
            PAST[decision.action],
            action=decision.action,
            reason_code=decision.reason_code,
            note=decision.note,
            original_complaint_id=decision.original_complaint_id,
            event=decision_event(row, decision, reviewer),
        )
        return review_item(row)
