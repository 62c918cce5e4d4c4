"""Triage judged against the labelled set in tests/data/triage_labelled.jsonl.

The whole set runs through the same handlers the faust app runs (reporter stage, then area
stage), in arrival order, with dicts for the tables. The thresholds live in
`services.triage.domain.rules` and `services.triage.domain.duplicates`; these tests only
assert floors and print the figures (`pytest -s` shows them).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.events import (
    Channel,
    ComplaintDuplicateDetected,
    ComplaintReceived,
    ComplaintReceivedPayload,
    EventEnvelope,
    Location,
    Reporter,
)
from services.triage.domain.duplicates import History
from services.triage.domain.rules import PRANK_REASON_CODES, classify
from services.triage.handlers.stages import check_reporter_of, decide

DATA = Path(__file__).resolve().parent.parent / "data" / "triage_labelled.jsonl"
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SECRET = b"labelled-set-key"


@dataclass(frozen=True)
class Outcome:
    record: dict[str, object]
    event: ComplaintReceived
    decision: EventEnvelope


def load() -> list[dict[str, object]]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def to_event(record: dict[str, object]) -> ComplaintReceived:
    complaint_id = uuid.uuid5(uuid.NAMESPACE_URL, f"lapor-labelled/{record['id']}")
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-{record['id']}",
            channel=Channel(str(record["channel"])),
            reporter=Reporter(
                name="Pelapor",
                nik=record["nik"],  # type: ignore[arg-type]
                phone=record["phone"],  # type: ignore[arg-type]
            ),
            description=str(record["description"]),
            location=Location(region_code=record["region_code"]),  # type: ignore[arg-type]
            received_at=START + timedelta(minutes=int(record["minute"])),  # type: ignore[call-overload]
        ),
    )


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    history = History()
    decisions: dict[str, EventEnvelope] = {}
    results = []
    for record in sorted(load(), key=lambda item: int(item["minute"])):  # type: ignore[call-overload]
        event = to_event(record)
        findings = check_reporter_of(event, SECRET, history)
        results.append(Outcome(record, event, decide(event, findings, history, decisions)))
    return results


def ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def test_the_labelled_set_is_big_and_varied() -> None:
    records = load()
    assert len(records) >= 150
    assert len({record["id"] for record in records}) == len(records)
    labels = {str(record["label"]) for record in records}
    assert {"genuine", "prank", "invalid_nik"} <= labels
    categories = {record["category"] for record in records if record["label"] == "genuine"}
    assert len(categories) == 12  # every category, "other" included
    duplicates = [record for record in records if record["duplicate_of"]]
    assert any(
        record["description"] != _by_id(records)[record["duplicate_of"]]["description"]
        for record in duplicates
    )  # paraphrases, not only exact repeats
    assert len(duplicates) >= 20


def _by_id(records: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {record["id"]: record for record in records}


def _flagged_as_prank(decision: EventEnvelope) -> bool:
    reasons = getattr(decision.payload, "reasons", ())
    return any(reason.code in PRANK_REASON_CODES for reason in reasons)


def test_prank_detection_precision_and_recall(outcomes: list[Outcome]) -> None:
    flagged = [o for o in outcomes if _flagged_as_prank(o.decision)]
    pranks = [o for o in outcomes if o.record["label"] == "prank"]
    true_positives = [o for o in flagged if o.record["label"] == "prank"]
    precision = ratio(len(true_positives), len(flagged))
    recall = ratio(len(true_positives), len(pranks))
    print(
        f"\nprank detection: precision {precision:.3f} recall {recall:.3f} "
        f"({len(true_positives)} of {len(pranks)} pranks, {len(flagged)} flagged)"
    )
    missed = [o.record["id"] for o in pranks if o not in true_positives]
    wrong = [o.record["id"] for o in flagged if o.record["label"] != "prank"]
    print(f"  missed pranks: {missed}; genuine flagged: {wrong}")
    assert precision >= 0.9
    assert recall >= 0.85


def test_duplicate_detection_precision_and_recall(outcomes: list[Outcome]) -> None:
    ids = {o.event.complaint_id: o.record["id"] for o in outcomes}
    detected = [o for o in outcomes if isinstance(o.decision, ComplaintDuplicateDetected)]
    labelled = [o for o in outcomes if o.record["duplicate_of"]]
    correct = [
        o
        for o in detected
        if ids[o.decision.payload.original_complaint_id] == o.record["duplicate_of"]  # type: ignore[attr-defined]
    ]
    precision = ratio(len(correct), len(detected))
    recall = ratio(len(correct), len(labelled))
    print(
        f"\nduplicate detection: precision {precision:.3f} recall {recall:.3f} "
        f"({len(correct)} of {len(labelled)} duplicates linked, {len(detected)} detected)"
    )
    print(
        f"  missed: {[o.record['id'] for o in labelled if o not in correct]}; "
        f"wrong: {[o.record['id'] for o in detected if o not in correct]}"
    )
    assert precision >= 0.9
    assert recall >= 0.7
    exact = [o for o in correct if o.record["id"].startswith("e")]  # type: ignore[union-attr]
    assert all(o.decision.payload.match == "exact" for o in exact)  # type: ignore[attr-defined]


def test_category_accuracy(outcomes: list[Outcome]) -> None:
    labelled = [o for o in outcomes if o.record["category"]]
    right = [
        o for o in labelled if classify(o.event.payload.description)[0] == o.record["category"]
    ]
    accuracy = ratio(len(right), len(labelled))
    print(f"\ncategory accuracy: {accuracy:.3f} ({len(right)} of {len(labelled)})")
    for o in labelled:
        if o not in right:
            print(
                f"  {o.record['id']}: want {o.record['category']}, "
                f"got {classify(o.event.payload.description)}"
            )
    assert accuracy >= 0.8


def test_invalid_niks_are_rejected_and_unknown_regions_only_warn(outcomes: list[Outcome]) -> None:
    invalid = [o for o in outcomes if o.record["label"] == "invalid_nik"]
    caught = [
        o
        for o in invalid
        if o.decision.event_type == "ComplaintRejected"
        and "nik_invalid" in {reason.code for reason in o.decision.payload.reasons}  # type: ignore[attr-defined]
    ]
    recall = ratio(len(caught), len(invalid))
    print(
        f"\ninvalid NIK recall: {recall:.3f}; passed the structural check: "
        f"{[o.record['id'] for o in invalid if o not in caught]}"
    )
    assert recall >= 0.9  # a well-formed fake (1111111111111111) needs Dukcapil to catch
    warned = [o for o in outcomes if o.record.get("warning") == "nik_region_unknown"]
    assert warned
    for o in warned:
        assert o.decision.event_type == "ComplaintAccepted"
        assert "nik_region_unknown" in o.decision.payload.warnings  # type: ignore[attr-defined]


def test_genuine_complaints_are_rarely_rejected(outcomes: list[Outcome]) -> None:
    genuine = [
        o for o in outcomes if o.record["label"] == "genuine" and not o.record["duplicate_of"]
    ]
    accepted = [o for o in genuine if o.decision.event_type == "ComplaintAccepted"]
    rejected = [o for o in genuine if o.decision.event_type == "ComplaintRejected"]
    print(
        f"\ngenuine originals: {len(accepted)} of {len(genuine)} accepted, "
        f"{len(rejected)} rejected {[o.record['id'] for o in rejected]}"
    )
    assert ratio(len(rejected), len(genuine)) <= 0.03
    assert ratio(len(accepted), len(genuine)) >= 0.9


def test_urgent_complaints_are_prioritised(outcomes: list[Outcome]) -> None:
    urgent = [o for o in outcomes if o.record["urgent"] and not o.record["duplicate_of"]]
    raised = [o for o in urgent if getattr(o.decision.payload, "priority", None) == "urgent"]
    print(f"\nurgent recall: {ratio(len(raised), len(urgent)):.3f}")
    assert ratio(len(raised), len(urgent)) >= 0.8


def test_a_replay_of_the_whole_set_gives_the_same_decisions(outcomes: list[Outcome]) -> None:
    history = History()
    decisions: dict[str, EventEnvelope] = {}
    for outcome in outcomes:
        findings = check_reporter_of(outcome.event, SECRET, history)
        decide(outcome.event, findings, history, decisions)
    for outcome in outcomes:  # redelivered: the stores already hold every complaint
        findings = check_reporter_of(outcome.event, SECRET, history)
        again = decide(outcome.event, findings, history, decisions)
        assert (again.event_id, again.payload) == (
            outcome.decision.event_id,
            outcome.decision.payload,
        )
