"""The review queue: the grey zone triage hands to back-office reviewers (PostgreSQL adapter).

- `enqueue` puts a ComplaintNeedsReview in the queue (idempotent: a replay changes nothing);
- reviewers list, claim, then accept, reject with a reason, or mark as a duplicate of another
  report. Only the reviewer who claimed an item may decide it;
- a decision updates the item, appends to `review_log` (who, what, why) and puts the resulting
  event in the outbox, all in one transaction; the messaging plumbing's OutboxRelay publishes
  it. The event id derives from the NeedsReview event's id, so a retried request cannot
  publish a second, different decision.

Reviewers authenticate with a bearer token; tokens are configured as
`LAPOR_TRIAGE_REVIEWERS="name:token,name:token"` and only their SHA-256 is kept in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintDuplicateDetected,
    ComplaintDuplicateDetectedPayload,
    ComplaintNeedsReview,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintRejectedPayload,
    EventEnvelope,
    Priority,
    ReasonCode,
    follow_up_ids,
    parse_event,
    serialize_event,
)
from services.messaging import outbox
from services.triage.domain.rules import assess

PRODUCER = "triage"
SUMMARY_CHARS = 280
ACTIONS = ("accept", "reject", "duplicate")
STATUSES = ("open", "claimed", "decided")


class ReviewError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ----------------------------------------------------------------------------- reviewers


def parse_reviewers(configured: str) -> dict[str, str]:
    """`name:token,...` → {sha256(token): name}. Blank entries are ignored."""
    reviewers = {}
    for entry in configured.split(","):
        name, _, token = entry.strip().partition(":")
        if name and token:
            reviewers[hashlib.sha256(token.encode()).hexdigest()] = name
    return reviewers


def authenticate(authorization: str | None, reviewers: dict[str, str]) -> str | None:
    """The reviewer's name for an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    for known, name in reviewers.items():
        if hmac.compare_digest(known, digest):
            return name
    return None


# ----------------------------------------------------------------------------- queue


async def enqueue(
    pool: asyncpg.Pool,
    received: ComplaintReceived,
    decision: EventEnvelope,
    reporter_key: str | None = None,
) -> None:
    assessment = assess(received.payload)
    payload = received.payload
    await pool.execute(
        "INSERT INTO review_items (complaint_id, tracking_code, needs_review, channel, category,"
        " priority, matched_terms, region_code, anonymous, secret, description, reporter_key)"
        " VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12)"
        " ON CONFLICT (complaint_id) DO NOTHING",
        received.complaint_id,
        payload.tracking_code,
        serialize_event(decision).decode(),
        str(payload.channel),
        str(assessment.category),
        str(assessment.priority),
        json.dumps(list(assessment.matched_terms)),
        assessment.region_code,
        payload.anonymous,
        payload.secret,
        payload.description,
        reporter_key,
    )


def _item(row: asyncpg.Record) -> dict[str, Any]:
    needs_review = json.loads(row["needs_review"])
    return {
        "complaint_id": str(row["complaint_id"]),
        "tracking_code": row["tracking_code"],
        "status": row["status"],
        "category": row["category"],
        "priority": row["priority"],
        "region_code": row["region_code"],
        "reasons": needs_review["payload"]["reasons"],
        "description": row["description"],
        "claimed_by": row["claimed_by"],
        "decision": row["decision"],
        "decided_by": row["decided_by"],
    }


async def list_items(pool: asyncpg.Pool, status: str, limit: int = 100) -> list[dict[str, Any]]:
    if status not in STATUSES:
        raise ReviewError(422, f"status must be one of {', '.join(STATUSES)}")
    rows = await pool.fetch(
        "SELECT * FROM review_items WHERE status = $1 ORDER BY created_at LIMIT $2",
        status,
        max(1, min(limit, 500)),
    )
    return [_item(row) for row in rows]


def _complaint_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ReviewError(422, "complaint id must be a UUID") from None


async def claim(pool: asyncpg.Pool, raw_id: str, reviewer: str) -> dict[str, Any]:
    complaint_id = _complaint_id(raw_id)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM review_items WHERE complaint_id = $1 FOR UPDATE", complaint_id
        )
        if row is None:
            raise ReviewError(404, "no such item in the review queue")
        if row["status"] == "decided":
            raise ReviewError(409, f"already decided by {row['decided_by']}")
        if row["status"] == "claimed" and row["claimed_by"] != reviewer:
            raise ReviewError(409, f"claimed by {row['claimed_by']}")
        if row["status"] == "open":
            row = await conn.fetchrow(
                "UPDATE review_items SET status = 'claimed', claimed_by = $2, claimed_at = now()"
                " WHERE complaint_id = $1 RETURNING *",
                complaint_id,
                reviewer,
            )
            await conn.execute(
                "INSERT INTO review_log (complaint_id, reviewer, action) VALUES ($1, $2, 'claim')",
                complaint_id,
                reviewer,
            )
        return _item(row)


@dataclass(frozen=True)
class Ban:
    """A reviewer's ban (or lifting of one) on the reporter of a queued report."""

    reporter_key: str
    banned: bool
    reviewer: str
    note: str

    def command(self) -> bytes:
        """The value of the command triage's reporter stage applies to its `banned` table."""
        return json.dumps(
            {"banned": self.banned, "by": self.reviewer, "note": self.note}, separators=(",", ":")
        ).encode()


async def ban(pool: asyncpg.Pool, raw_id: str, reviewer: str, banned: bool, note: str) -> Ban:
    """Record who banned (or unbanned) the reporter of this report and why. Their later reports
    are kept and rejected with `reporter_banned`, never forwarded."""
    complaint_id = _complaint_id(raw_id)
    note = note.strip()[:2000]
    if banned and not note:
        raise ReviewError(422, "a ban needs a note (why)")
    async with pool.acquire() as conn, conn.transaction():
        key = await conn.fetchval(
            "SELECT reporter_key FROM review_items WHERE complaint_id = $1", complaint_id
        )
        if key is None:
            raise ReviewError(404, "no such item in the review queue, or no reporter to ban")
        await conn.execute(
            "INSERT INTO review_log (complaint_id, reviewer, action, note) VALUES ($1, $2, $3, $4)",
            complaint_id,
            reviewer,
            "ban" if banned else "unban",
            note,
        )
    return Ban(key, banned, reviewer, note)


@dataclass(frozen=True)
class ReviewDecision:
    action: str
    note: str = ""
    reason_code: str | None = None
    original_complaint_id: uuid.UUID | None = None
    original_tracking_code: str | None = None

    @classmethod
    def parse(cls, action: str, body: dict[str, Any]) -> ReviewDecision:
        if action not in ACTIONS:
            raise ReviewError(404, f"unknown action {action!r}; use {', '.join(ACTIONS)}")
        note = str(body.get("note") or "").strip()[:2000]
        if action == "accept":
            return cls(action, note)
        if action == "reject":
            reason = str(body.get("reason_code") or "").strip()
            if not reason or not note:
                raise ReviewError(422, "a rejection needs reason_code and note (why)")
            return cls(action, note, reason_code=reason[:64])
        original = body.get("original_complaint_id")
        code = str(body.get("original_tracking_code") or "").strip()
        if not original or not code:
            raise ReviewError(422, "original_complaint_id and original_tracking_code are required")
        return cls(
            action,
            note,
            original_complaint_id=_complaint_id(str(original)),
            original_tracking_code=code[:64],
        )


def decision_event(row: asyncpg.Record, decision: ReviewDecision, reviewer: str) -> EventEnvelope:
    """The event a reviewer's decision publishes; its id derives from the NeedsReview event."""
    needs_review = parse_event(row["needs_review"])
    assert isinstance(needs_review, ComplaintNeedsReview)
    ids = follow_up_ids(needs_review, PRODUCER, "review-decision")
    code = row["tracking_code"]
    if decision.action == "accept":
        return ComplaintAccepted(
            **ids,
            payload=ComplaintAcceptedPayload(
                tracking_code=code,
                channel=Channel(row["channel"]),
                category=Category(row["category"]),
                priority=Priority(row["priority"]),
                matched_terms=tuple(json.loads(row["matched_terms"])),
                region_code=row["region_code"],
                anonymous=row["anonymous"],
                secret=row["secret"],
                summary=row["description"][:SUMMARY_CHARS],
                reviewed_by=reviewer,
            ),
        )
    if decision.action == "reject":
        reason = ReasonCode(
            code=decision.reason_code or "rejected", detail=decision.note, score=1.0
        )
        return ComplaintRejected(
            **ids,
            payload=ComplaintRejectedPayload(
                tracking_code=code, reasons=(reason,), reviewed_by=reviewer
            ),
        )
    assert decision.original_complaint_id is not None and decision.original_tracking_code
    return ComplaintDuplicateDetected(
        **ids,
        payload=ComplaintDuplicateDetectedPayload(
            tracking_code=code,
            original_complaint_id=decision.original_complaint_id,
            original_tracking_code=decision.original_tracking_code,
            similarity=1.0,
            match="manual",
            category=Category(row["category"]),
            reviewed_by=reviewer,
        ),
    )


PAST = {"accept": "accepted", "reject": "rejected", "duplicate": "duplicate"}


async def decide(
    pool: asyncpg.Pool, raw_id: str, reviewer: str, decision: ReviewDecision
) -> dict[str, Any]:
    complaint_id = _complaint_id(raw_id)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM review_items WHERE complaint_id = $1 FOR UPDATE", complaint_id
        )
        if row is None:
            raise ReviewError(404, "no such item in the review queue")
        if row["status"] == "decided":
            if row["decided_by"] == reviewer and row["decision"] == PAST[decision.action]:
                return _item(row)  # a retried request: already done, nothing new published
            raise ReviewError(409, f"already decided by {row['decided_by']}")
        if row["status"] != "claimed" or row["claimed_by"] != reviewer:
            raise ReviewError(409, "claim the item before deciding it")
        if decision.original_complaint_id == complaint_id:
            raise ReviewError(422, "a report cannot duplicate itself")
        event = decision_event(row, decision, reviewer)
        row = await conn.fetchrow(
            "UPDATE review_items SET status = 'decided', decision = $2, decided_by = $3,"
            " decided_at = now() WHERE complaint_id = $1 RETURNING *",
            complaint_id,
            PAST[decision.action],
            reviewer,
        )
        await conn.execute(
            "INSERT INTO review_log (complaint_id, reviewer, action, reason_code, note,"
            " original_complaint_id) VALUES ($1, $2, $3, $4, $5, $6)",
            complaint_id,
            reviewer,
            decision.action,
            decision.reason_code,
            decision.note,
            decision.original_complaint_id,
        )
        await outbox.enqueue(conn, [event])
        return _item(row)
