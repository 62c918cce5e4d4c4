"""The review API's pure parts: reviewer tokens and decision bodies."""

from __future__ import annotations

import uuid

import pytest

from services.triage.domain.review import ReviewDecision, ReviewError, authenticate, parse_reviewers


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
