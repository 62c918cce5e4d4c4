"""The review API's pure parts: reviewer tokens and decision bodies."""

from __future__ import annotations

import uuid

import pytest

from schemas.events import (
    ComplaintNeedsReview,
    ComplaintNeedsReviewPayload,
    ReasonCode,
    serialize_event,
)
from services.triage.domain.review import (
    LogFilter,
    ReviewDecision,
    ReviewError,
    authenticate,
    ban_note,
    decision_event,
    parse_reviewers,
)


def test_reviewer_tokens_are_kept_hashed_and_checked_exactly() -> None:
    reviewers = parse_reviewers("alice:s3cret, bob:other,broken,:x")
    assert sorted(reviewers.values()) == ["alice", "bob"]
    assert "s3cret" not in "".join(reviewers)
    assert authenticate("Bearer s3cret", reviewers) == "alice"
    assert authenticate("bearer other", reviewers) == "bob"
    for header in (None, "", "Bearer", "Bearer s3cre", "Basic s3cret", "s3cret"):
        assert authenticate(header, reviewers) is None


def test_a_rejection_needs_a_reason_and_a_note() -> None:
    with pytest.raises(ReviewError) as error:
        ReviewDecision.parse("reject", {"reason_code": "prank"})
    assert error.value.status == 422
    decision = ReviewDecision.parse("reject", {"reason_code": "prank", "note": "lelucon"})
    assert (decision.reason_code, decision.note) == ("prank", "lelucon")


def test_a_duplicate_names_its_original() -> None:
    with pytest.raises(ReviewError):
        ReviewDecision.parse("duplicate", {"original_complaint_id": "not-a-uuid", "x": 1})
    original = uuid.uuid4()
    decision = ReviewDecision.parse(
        "duplicate", {"original_complaint_id": str(original), "original_tracking_code": "LPR-1"}
    )
    assert decision.original_complaint_id == original


def test_unknown_actions_are_refused() -> None:
    with pytest.raises(ReviewError) as error:
        ReviewDecision.parse("delete", {})
    assert error.value.status == 404


def _queued_item(**columns: object) -> dict[str, object]:
    complaint_id = uuid.uuid4()
    needs_review = ComplaintNeedsReview(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="triage",
        payload=ComplaintNeedsReviewPayload(
            tracking_code="LPR-AAAA-BBBB-CCC",
            reasons=(ReasonCode(code="prank_phrase", detail="frasa", score=0.6),),
        ),
    )
    return {
        "needs_review": serialize_event(needs_review).decode(),
        "tracking_code": "LPR-AAAA-BBBB-CCC",
        "channel": "web",
        "category": "infrastructure",
        "priority": "normal",
        "matched_terms": "[]",
        "region_code": "32.73",
        "anonymous": False,
        "secret": False,
        "description": "Jalan rusak berlubang besar di depan pasar sudah tiga bulan",
        **columns,
    }


def test_a_reviewers_acceptance_keeps_where_the_region_came_from() -> None:
    accept = ReviewDecision.parse("accept", {})
    event = decision_event(
        _queued_item(region_source="incident"), accept, "reviewer-1", summary="Jalan rusak"
    )
    assert event.event_type == "ComplaintAccepted"
    assert (event.payload.region_code, event.payload.region_source) == ("32.73", "incident")  # type: ignore[attr-defined]
    older = decision_event(_queued_item(), accept, "reviewer-1", summary="")  # before the column
    assert older.payload.region_source is None  # type: ignore[attr-defined]


def test_texts_postgresql_cannot_hold_are_refused_before_the_database() -> None:
    refusals = (
        lambda: ReviewDecision.parse("reject", {"reason_code": "spam", "note": "a\x00b"}),
        lambda: ReviewDecision.parse("reject", {"reason_code": "\ud800", "note": "why"}),
        lambda: ReviewDecision.parse("accept", {"note": "ok\x00"}),
        lambda: ReviewDecision.parse(
            "duplicate",
            {"original_complaint_id": str(uuid.uuid4()), "original_tracking_code": "LPR\x00"},
        ),
        lambda: LogFilter.parse({"reviewer": "ani\x00"}),
        lambda: ban_note(True, "\udfff"),
    )
    for refused in refusals:
        with pytest.raises(ReviewError) as error:
            refused()
        assert error.value.status == 422
    decision = ReviewDecision.parse("reject", {"reason_code": " spam ", "note": " why "})
    assert (decision.reason_code, decision.note) == ("spam", "why")
