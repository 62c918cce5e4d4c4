"""Triage's handlers: a `ComplaintReceived` in, the decision event out. Pure: the state comes in
as key-value stores (faust tables in `entrypoints.stream`, dicts in tests and benchmarks).

Two stages, because the state they need is keyed differently:
1. `check_reporter_of` runs where the stream is keyed by reporter (exact repeats, daily limit,
   ban list);
2. `decide` runs where the stream is keyed by region and category (near duplicates), and
   remembers its decision by complaint id so a replay re-emits the same event.

The chronology arrives sealed. Stage 1 finds exact repeats on the sealed text (deterministic
per reporter); the area and the decision need it opened, and whatever quotes it afterwards (the
summary, a near-duplicate signature) is sealed again with the reporter's key (`Keys`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import MutableMapping
from typing import Any

from schemas.events import (
    ComplaintAccepted,
    ComplaintAcceptedPayload,
    ComplaintDuplicateDetected,
    ComplaintDuplicateDetectedPayload,
    ComplaintNeedsReview,
    ComplaintNeedsReviewPayload,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintRejectedPayload,
    EventEnvelope,
    ReasonCode,
    follow_up_ids,
    parse_event,
    serialize_event,
)
from schemas.personal_data import sealed_key_id
from services.triage.domain.duplicates import (
    DAILY_LIMIT_PER_REPORTER,
    Original,
    ReporterFindings,
    Store,
    area_key,
    candidate_key_ids,
    check_reporter,
    find_near_duplicate,
    remember_candidate,
    reporter_key,
    reporter_key_of_data_key,
    resembling,
)
from services.triage.domain.rules import (
    PRODUCER,
    Assessment,
    Verdict,
    assess,
    verdict_for,
)
from services.triage.domain.sealing import NO_KEYS, Keys


def reporter_of(event: ComplaintReceived, secret: bytes) -> str:
    """The reporter's state key. A sealed event names the reporter's data key, which is
    already one per NIK (else phone, else email) and needs no decryption; an event sealed by
    nobody (older producers, tests) is keyed by a hash of the identity itself."""
    reporter = event.payload.reporter
    for value in (reporter.nik, reporter.phone, reporter.email, reporter.name):
        if (key_id := sealed_key_id(value)) is not None:
            return reporter_key_of_data_key(secret, key_id)
    return reporter_key(secret, reporter.nik, reporter.phone, reporter.email)


def check_reporter_of(
    event: ComplaintReceived, secret: bytes, repeats: Store, daily: Store, banned: Store
) -> ReporterFindings:
    """`event` as received (sealed): the same reporter's same words seal to the same string,
    so an exact repeat needs no decryption and the `reporter-repeats` changelog keeps no
    fingerprint of the words themselves."""
    payload = event.payload
    return check_reporter(
        reporter=reporter_of(event, secret),
        complaint_id=str(event.complaint_id),
        tracking_code=payload.tracking_code,
        text=payload.description,
        received_at=payload.received_at,
        repeats=repeats,
        daily=daily,
        banned=banned,
    )


def area_of(event: ComplaintReceived) -> str:
    """The area key of a complaint whose chronology is opened (the category comes from it)."""
    assessment = assess(event.payload)
    return area_key(assessment.region_code, assessment.category)


def keys_needed(
    received: ComplaintReceived, opened: ComplaintReceived, candidates: Store
) -> set[str]:
    """The data keys `decide` needs: the reporter's own (`received` as it came, sealed) and
    those of the near-duplicate candidates of its area (`opened`: the chronology readable)."""
    own = sealed_key_id(received.payload.description)
    area = area_of(opened)
    needed = candidate_key_ids(area, opened.payload.received_at, candidates)
    return needed | {own} if own else needed


def resembling_complaints(
    opened: ComplaintReceived, candidates: Store | None, keys: Keys = NO_KEYS
) -> list[dict[str, Any]]:
    """The earlier accepted complaints of its area a reviewer reads next to a queued complaint
    (`opened`: the chronology readable), their signatures still sealed by their reporters."""
    if candidates is None:
        return []
    return resembling(
        area=area_of(opened),
        complaint_id=str(opened.complaint_id),
        text=opened.payload.description,
        received_at=opened.payload.received_at,
        candidates=candidates,
        reveal=keys.open,
    )


def _with_reporter_reasons(
    assessment: Assessment, findings: ReporterFindings | None
) -> tuple[ReasonCode, ...]:
    reasons = list(assessment.reasons)
    if findings is not None and findings.banned:
        reasons.append(
            ReasonCode(code="reporter_banned", detail="pelapor masuk daftar blokir", score=1.0)
        )
    if findings is not None and findings.complaints_today > DAILY_LIMIT_PER_REPORTER:
        reasons.append(
            ReasonCode(
                code="rate_limited",
                detail=f"lebih dari {DAILY_LIMIT_PER_REPORTER} laporan dalam sehari",
                score=0.5,
            )
        )
    return tuple(reasons)


def decide(
    event: ComplaintReceived,
    findings: ReporterFindings | None = None,
    candidates: Store | None = None,
    decisions: MutableMapping[str, str] | None = None,
    keys: Keys = NO_KEYS,
) -> EventEnvelope:
    """The decision for one complaint (its chronology opened; `keys` seal what quotes it);
    the same input and state give the same event (id)."""
    key = str(event.complaint_id)
    if decisions is not None and (stored := decisions.get(key)) is not None:
        return parse_event(stored)
    decision = _decide(event, findings, candidates, keys)
    if decisions is not None:
        decisions[key] = serialize_event(decision).decode()
    return decision


def _decide(
    event: ComplaintReceived,
    findings: ReporterFindings | None,
    candidates: Store | None,
    keys: Keys,
) -> EventEnvelope:
    payload = event.payload
    assessment = assess(payload)
    reasons = _with_reporter_reasons(assessment, findings)
    verdict = verdict_for(sum(reason.score for reason in reasons))
    ids = follow_up_ids(event, PRODUCER, "triage-decision")
    if verdict is Verdict.REJECT:
        return ComplaintRejected(
            **ids,
            payload=ComplaintRejectedPayload(tracking_code=payload.tracking_code, reasons=reasons),
        )
    original: Original | None = findings.repeat_of if findings is not None else None
    area = area_key(assessment.region_code, assessment.category)
    if original is None and verdict is Verdict.ACCEPT and candidates is not None:
        original = find_near_duplicate(
            area=area,
            complaint_id=str(event.complaint_id),
            text=payload.description,
            received_at=payload.received_at,
            candidates=candidates,
            reveal=keys.open,
        )
    if original is not None:
        return ComplaintDuplicateDetected(
            **ids,
            payload=ComplaintDuplicateDetectedPayload(
                tracking_code=payload.tracking_code,
                original_complaint_id=uuid.UUID(original.complaint_id),
                original_tracking_code=original.tracking_code,
                similarity=round(original.similarity / 100.0, 3),
                match="exact" if original.kind == "exact" else "near",
                category=assessment.category,
            ),
        )
    if verdict is Verdict.REVIEW:
        return ComplaintNeedsReview(
            **ids,
            payload=ComplaintNeedsReviewPayload(
                tracking_code=payload.tracking_code,
                reasons=reasons,
                category=assessment.category,
                matched_terms=assessment.matched_terms,
                warnings=assessment.warnings,
            ),
        )
    if candidates is not None:
        remember_candidate(
            area=area,
            complaint_id=str(event.complaint_id),
            tracking_code=payload.tracking_code,
            text=payload.description,
            received_at=payload.received_at,
            candidates=candidates,
            seal=keys.seal,
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
            region_source=assessment.region_source,
            anonymous=payload.anonymous,
            secret=payload.secret,
            summary=keys.summary(payload.description),
            warnings=assessment.warnings,
        ),
    )


def findings_json(findings: ReporterFindings) -> str:
    return json.dumps(findings.to_json(), separators=(",", ":"))
