"""The review queue's rules, pure: reviewer tokens, what a reviewer may do to an item in which
state, and the event a decision publishes.

Reviewers authenticate with a bearer token; tokens are configured as
`LAPOR_TRIAGE_REVIEWERS="name:token,name:token"` and only their SHA-256 is kept in memory.
Only the reviewer who claimed an item may decide it. A decision's event id derives from the
NeedsReview event's id, so a retried request cannot publish a second, different decision.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.events import (
    Category,
    Channel,
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintDuplicateDetected,
    ComplaintDuplicateDetectedPayload,
    ComplaintNeedsReview,
    ComplaintRejected,
    ComplaintRejectedPayload,
    EventEnvelope,
    Priority,
    ReasonCode,
    follow_up_ids,
    parse_event,
)
from schemas.staff import Role, StaffMember
from services.triage.domain.rules import PRODUCER

ACTIONS = ("accept", "reject", "duplicate")
STATUSES = ("open", "claimed", "decided")
# What the audit log records (`review_log.action`).
LOG_ACTIONS = ("claim", "accept", "reject", "duplicate", "ban", "unban")
# A claim left this long lapses: another reviewer may then take the item over.
CLAIM_MINUTES = 30
CLAIM_TTL = timedelta(minutes=CLAIM_MINUTES)
PAST = {"accept": "accepted", "reject": "rejected", "duplicate": "duplicate"}
# A queue item as stored (a database row, or any mapping with the same keys).
Item = Mapping[str, Any]


class ReviewError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def text_of(raw: Any, name: str, limit: int) -> str:
    """A reviewer's text field, stripped and cut to `limit`; 422 for what PostgreSQL text
    cannot hold (NUL, unpaired surrogates), rather than a 500 from the database."""
    text = str(raw or "").strip()[:limit]
    if "\x00" in text:
        raise ReviewError(422, f"{name} must not contain NUL characters")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ReviewError(422, f"{name} must be valid Unicode text") from None
    return text


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


def staff_reviewer(member: StaffMember) -> str | None:
    """The name a staff member the back office vouches for decides under (their staff id),
    if their roles let them review (reviewer; admin too, who oversee the queue), or None."""
    return member.staff_id if member.has(Role.REVIEWER, Role.ADMIN) else None


# ----------------------------------------------------------------------------- requests


def complaint_id_of(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ReviewError(422, "complaint id must be a UUID") from None


def require_status(status: str) -> str:
    if status not in STATUSES:
        raise ReviewError(422, f"status must be one of {', '.join(STATUSES)}")
    return status


def claim_expires_at(item: Item) -> datetime | None:
    """When the item's claim lapses (None: not claimed)."""
    if item["status"] != "claimed" or item.get("claimed_at") is None:
        return None
    claimed_at: datetime = item["claimed_at"]
    return claimed_at + CLAIM_TTL


def claim_held(item: Item, now: datetime) -> bool:
    """Whether someone holds the item now (claimed, not lapsed)."""
    expires = claim_expires_at(item)
    return expires is not None and now < expires


def check_claim(item: Item | None, reviewer: str, now: datetime) -> bool:
    """Whether `reviewer` takes (or renews) the claim; raises when they may not: the item is
    decided, or another reviewer holds a claim that has not lapsed. False: they hold it."""
    if item is None:
        raise ReviewError(404, "no such item in the review queue")
    if item["status"] == "decided":
        raise ReviewError(409, f"already decided by {item['decided_by']}")
    held = claim_held(item, now)
    if held and item["claimed_by"] != reviewer:
        expires = claim_expires_at(item)
        assert expires is not None
        raise ReviewError(
            409, f"claimed by {item['claimed_by']} until {expires.isoformat(timespec='seconds')}"
        )
    return not (held and item["claimed_by"] == reviewer)


@dataclass(frozen=True)
class LogFilter:
    """The audit log's query: by reviewer, action, and a time range [since, before)."""

    reviewer: str | None = None
    action: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    limit: int = 200

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> LogFilter:
        action = (query.get("action") or "").strip() or None
        if action is not None and action not in LOG_ACTIONS:
            raise ReviewError(422, f"action must be one of {', '.join(LOG_ACTIONS)}")
        try:
            limit = int(query.get("limit") or 200)
        except ValueError:
            raise ReviewError(422, "limit must be a number") from None
        return cls(
            reviewer=text_of(query.get("reviewer"), "reviewer", 128) or None,
            action=action,
            since=_moment(query.get("since"), "since"),
            before=_moment(query.get("before"), "before"),
            limit=max(1, min(limit, 1000)),
        )


def _moment(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ReviewError(422, f"{name} must be an ISO 8601 time with its offset") from None
    if moment.tzinfo is None:
        raise ReviewError(422, f"{name} must carry its UTC offset")
    return moment


@dataclass(frozen=True)
class Ban:
    """A reviewer's ban (or lifting of one) on the reporter of a queued report."""

    reporter_key: str
    banned: bool
    reviewer: str
    note: str


def ban_note(banned: bool, note: str) -> str:
    """The note kept with a ban or an unban; a ban needs one (why)."""
    note = text_of(note, "note", 2000)
    if banned and not note:
        raise ReviewError(422, "a ban needs a note (why)")
    return note


@dataclass(frozen=True)
class ReviewDecision:
    action: str
    note: str = ""
    reason_code: str | None = None
    original_complaint_id: uuid.UUID | None = None
    original_tracking_code: str | None = None
    # An accept may correct triage's category guess (None: keep the guess).
    category: Category | None = None

    @classmethod
    def parse(cls, action: str, body: dict[str, Any]) -> ReviewDecision:
        if action not in ACTIONS:
            raise ReviewError(404, f"unknown action {action!r}; use {', '.join(ACTIONS)}")
        note = text_of(body.get("note"), "note", 2000)
        if action == "accept":
            return cls(action, note, category=_category(body.get("category")))
        if action == "reject":
            reason = text_of(body.get("reason_code"), "reason_code", 64)
            if not reason or not note:
                raise ReviewError(422, "a rejection needs reason_code and note (why)")
            return cls(action, note, reason_code=reason)
        original = body.get("original_complaint_id")
        code = text_of(body.get("original_tracking_code"), "original_tracking_code", 64)
        if not original or not code:
            raise ReviewError(422, "original_complaint_id and original_tracking_code are required")
        return cls(
            action,
            note,
            original_complaint_id=complaint_id_of(str(original)),
            original_tracking_code=code,
        )


def _category(raw: Any) -> Category | None:
    if raw is None or raw == "":
        return None
    try:
        return Category(str(raw))
    except ValueError:
        known = ", ".join(category.value for category in Category)
        raise ReviewError(422, f"category must be one of {known}") from None


def already_decided(
    item: Item | None, complaint_id: uuid.UUID, reviewer: str, decision: ReviewDecision
) -> bool:
    """Whether the decision is a retry of the one already taken; any other state in which
    `reviewer` may not decide the item raises."""
    if item is None:
        raise ReviewError(404, "no such item in the review queue")
    if item["status"] == "decided":
        if item["decided_by"] == reviewer and item["decision"] == PAST[decision.action]:
            return True
        raise ReviewError(409, f"already decided by {item['decided_by']}")
    if item["status"] != "claimed" or item["claimed_by"] != reviewer:
        raise ReviewError(409, "claim the item before deciding it")
    if decision.original_complaint_id == complaint_id:
        raise ReviewError(422, "a report cannot duplicate itself")
    return False


def decision_event(
    item: Item, decision: ReviewDecision, reviewer: str, *, summary: str
) -> EventEnvelope:
    """The event a reviewer's decision publishes; its id derives from the NeedsReview event.
    `summary`: the start of the chronology, sealed with the reporter's key (`Keys.summary`)."""
    needs_review = parse_event(item["needs_review"])
    assert isinstance(needs_review, ComplaintNeedsReview)
    ids = follow_up_ids(needs_review, PRODUCER, "review-decision")
    code = item["tracking_code"]
    if decision.action == "accept":
        return ComplaintAccepted(
            **ids,
            payload=ComplaintAcceptedPayload(
                tracking_code=code,
                channel=Channel(item["channel"]),
                category=decision.category or Category(item["category"]),
                priority=Priority(item["priority"]),
                matched_terms=tuple(json.loads(item["matched_terms"])),
                region_code=item["region_code"],
                # Queued before the column existed: unknown, not guessed.
                region_source=item.get("region_source"),
                anonymous=item["anonymous"],
                secret=item["secret"],
                summary=summary,
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
            category=Category(item["category"]),
            reviewed_by=reviewer,
        ),
    )
