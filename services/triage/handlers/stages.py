"""Triage's handlers: `ComplaintReceived` in, the decision event out, in one pass.

Pure per complaint (`check_reporter_of`, `decide`): the state comes in as the batch's
`History` (loaded from PostgreSQL for the batch, `adapters.state`; built up in memory in tests
and benchmarks), which every decision reads and extends, so a complaint meets the earlier ones
of its own batch too. `Complaint` is one complaint read once (parsed once, opened once,
assessed once); `triage_complaint` takes it through the reporter's checks and the area's.

The chronology arrives sealed. Exact repeats are found on the sealed text (deterministic per
reporter); the area and the decision need it opened, and whatever quotes it afterwards (the
summary, a near-duplicate signature) is sealed again with the reporter's key (`Keys`).
`handlers.batch` runs a batch of complaints through these in one database transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass, field
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
)
from schemas.personal_data import sealed_key_id
from services.triage.domain.duplicates import (
    DAILY_LIMIT_PER_REPORTER,
    History,
    Lookups,
    Original,
    ReporterFindings,
    area_key,
    candidate_key_ids,
    check_reporter,
    day_of,
    find_near_duplicate,
    lookups,
    remember_candidate,
    reporter_key,
    reporter_key_of_data_key,
    resembling,
    signature_of_stems,
)
from services.triage.domain.rules import (
    PRODUCER,
    Assessment,
    Verdict,
    assess,
    verdict_for,
)
from services.triage.domain.sealing import NO_KEYS, Keys

# Decisions already taken, by complaint id: a replay re-emits the same event.
Decisions = MutableMapping[str, EventEnvelope]


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
    event: ComplaintReceived, secret: bytes, history: History, reporter: str | None = None
) -> ReporterFindings:
    """`event` as received (sealed): the same reporter's same words seal to the same string,
    so an exact repeat needs no decryption and `reporter_repeats` keeps no fingerprint of the
    words themselves. `reporter`: its key, when known already."""
    payload = event.payload
    return check_reporter(
        reporter=reporter or reporter_of(event, secret),
        complaint_id=str(event.complaint_id),
        tracking_code=payload.tracking_code,
        text=payload.description,
        received_at=payload.received_at,
        history=history,
    )


def area_of(event: ComplaintReceived, assessment: Assessment | None = None) -> str:
    """The area key of a complaint whose chronology is opened (the category comes from it)."""
    assessment = assessment or assess(event.payload)
    return area_key(assessment.region_code, assessment.category)


@dataclass(frozen=True)
class Complaint:
    """One complaint of a batch, read once: `received` as it came (sealed), `opened` with its
    readable personal fields in the clear (in memory only), and what follows from them."""

    received: ComplaintReceived
    opened: ComplaintReceived
    reporter: str
    assessment: Assessment
    area: str

    @classmethod
    def of(cls, received: ComplaintReceived, opened: ComplaintReceived, secret: bytes) -> Complaint:
        assessment = assess(opened.payload)
        return cls(
            received,
            opened,
            reporter_of(received, secret),
            assessment,
            area_key(assessment.region_code, assessment.category),
        )

    @property
    def complaint_id(self) -> str:
        return str(self.received.complaint_id)

    @property
    def compares(self) -> bool:
        """Whether its decision may compare it with its area's candidates (not rejected)."""
        return self.assessment.verdict is not Verdict.REJECT


def batch_lookups(complaints: list[Complaint]) -> Lookups:
    """The state keys a batch reads. A complaint its own text and identity reject never
    looks at its area (reporter findings only add to a score): no candidates for it."""
    return lookups(
        (
            (c.reporter, c.received.payload.description, c.received.payload.received_at)
            for c in complaints
        ),
        ((c.area, c.received.payload.received_at) for c in complaints if c.compares),
    )


def keys_needed(
    received: ComplaintReceived,
    opened: ComplaintReceived,
    history: History,
    assessment: Assessment | None = None,
) -> set[str]:
    """The data keys `decide` needs: the reporter's own (`received` as it came, sealed) and
    those of the near-duplicate candidates of its area (`opened`: the chronology readable)."""
    own = sealed_key_id(received.payload.description)
    area = area_of(opened, assessment)
    needed = candidate_key_ids(area, opened.payload.received_at, history)
    return needed | {own} if own else needed


def batch_keys_needed(complaints: list[Complaint], history: History) -> set[str]:
    """`keys_needed` of every complaint of a batch, each area's candidates looked at once."""
    needed = {
        own
        for complaint in complaints
        if (own := sealed_key_id(complaint.received.payload.description)) is not None
    }
    seen: set[tuple[str, int]] = set()
    for complaint in filter(lambda c: c.compares, complaints):
        received_at = complaint.opened.payload.received_at
        if (key := (complaint.area, day_of(received_at))) not in seen:
            seen.add(key)
            needed |= candidate_key_ids(complaint.area, received_at, history)
    return needed


def resembling_complaints(
    opened: ComplaintReceived,
    history: History | None,
    keys: Keys = NO_KEYS,
    assessment: Assessment | None = None,
) -> list[dict[str, Any]]:
    """The earlier accepted complaints of its area a reviewer reads next to a queued complaint
    (`opened`: the chronology readable), their signatures still sealed by their reporters."""
    if history is None:
        return []
    return resembling(
        area=area_of(opened, assessment),
        complaint_id=str(opened.complaint_id),
        text=opened.payload.description,
        received_at=opened.payload.received_at,
        history=history,
        reveal=keys.open,
        signed=_signed(assessment),
    )


def _signed(assessment: Assessment | None) -> str | None:
    """The near-duplicate signature from the stems `assess` made (None: stem the text)."""
    if assessment is None or not assessment.stemmed:
        return None
    return signature_of_stems(assessment.stemmed)


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
    history: History | None = None,
    decisions: Decisions | None = None,
    keys: Keys = NO_KEYS,
    assessment: Assessment | None = None,
) -> EventEnvelope:
    """The decision for one complaint (its chronology opened; `keys` seal what quotes it);
    the same input and state give the same event (id)."""
    key = str(event.complaint_id)
    if decisions is not None and (stored := decisions.get(key)) is not None:
        return stored
    decision = _decide(event, findings, history, keys, assessment or assess(event.payload))
    if decisions is not None:
        decisions[key] = decision
    return decision


@dataclass
class Triaged:
    """A complaint's decision; `fresh`: taken now (not a replay's); `similar`: what a queued
    complaint resembles (for the review queue)."""

    complaint: Complaint
    decision: EventEnvelope
    fresh: bool = True
    similar: list[dict[str, Any]] = field(default_factory=list)


def triage_complaint(
    complaint: Complaint, secret: bytes, history: History, decisions: Decisions, keys: Keys
) -> Triaged:
    """One complaint of a batch through the reporter's checks and the area's, against (and
    into) the batch's `history`; a complaint decided before gets its decision again."""
    if (stored := decisions.get(complaint.complaint_id)) is not None:
        return Triaged(complaint, stored, fresh=False)
    findings = check_reporter_of(complaint.received, secret, history, complaint.reporter)
    mine = keys.of_reporter(complaint.received.payload.description)
    decision = decide(complaint.opened, findings, history, decisions, mine, complaint.assessment)
    triaged = Triaged(complaint, decision)
    if decision.event_type == "ComplaintNeedsReview":
        triaged.similar = resembling_complaints(
            complaint.opened, history, mine, complaint.assessment
        )
    return triaged


def _decide(
    event: ComplaintReceived,
    findings: ReporterFindings | None,
    history: History | None,
    keys: Keys,
    assessment: Assessment,
) -> EventEnvelope:
    payload = event.payload
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
    signed = _signed(assessment)
    if original is None and verdict is Verdict.ACCEPT and history is not None:
        original = find_near_duplicate(
            area=area,
            complaint_id=str(event.complaint_id),
            text=payload.description,
            received_at=payload.received_at,
            history=history,
            reveal=keys.open,
            signed=signed,
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
    if history is not None:
        remember_candidate(
            area=area,
            complaint_id=str(event.complaint_id),
            tracking_code=payload.tracking_code,
            text=payload.description,
            received_at=payload.received_at,
            history=history,
            seal=keys.seal,
            signed=signed,
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
