"""Triage's handler: a `ComplaintReceived` in, the decision event out. Pure: the faust agent
(`services.triage.app`) does the I/O."""

from __future__ import annotations

from schemas.events import (
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintNeedsReview,
    ComplaintNeedsReviewPayload,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintRejectedPayload,
    EventEnvelope,
    follow_up_ids,
)
from services.triage.domain import Verdict, assess

PRODUCER = "triage"
SUMMARY_CHARS = 280


def decide(event: ComplaintReceived) -> EventEnvelope:
    payload = event.payload
    assessment = assess(payload)
    ids = follow_up_ids(event, PRODUCER, "triage-decision")
    if assessment.verdict is Verdict.REJECT:
        return ComplaintRejected(
            **ids,
            payload=ComplaintRejectedPayload(
                tracking_code=payload.tracking_code, reasons=assessment.reasons
            ),
        )
    if assessment.verdict is Verdict.REVIEW:
        return ComplaintNeedsReview(
            **ids,
            payload=ComplaintNeedsReviewPayload(
                tracking_code=payload.tracking_code, reasons=assessment.reasons
            ),
        )
    return ComplaintAccepted(
        **ids,
        payload=ComplaintAcceptedPayload(
            tracking_code=payload.tracking_code,
            channel=payload.channel,
            category=assessment.category,
            priority=assessment.priority,
            matched_terms=assessment.matched_terms,
            region_code=assessment.region_code,
            anonymous=payload.anonymous,
            secret=payload.secret,
            summary=payload.description[:SUMMARY_CHARS],
        ),
    )
