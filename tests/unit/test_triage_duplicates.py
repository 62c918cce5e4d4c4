"""Duplicate detection, daily limits and the ban list, over one `History` kept in memory (what
the PostgreSQL tables hold, as a batch sees them)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from schemas.events import (
    Channel,
    ComplaintReceived,
    ComplaintReceivedPayload,
    EventEnvelope,
    Location,
    Reporter,
)
from services.triage.domain.duplicates import (
    DAILY_LIMIT_PER_REPORTER,
    DUPLICATE_WINDOW_DAYS,
    EXACT_REPEAT_DAYS,
    MAX_CANDIDATES_PER_BUCKET,
    History,
    reporter_key,
)
from services.triage.handlers.stages import area_of, check_reporter_of, decide

SECRET = b"unit-test-key"
SYLLABLES = [consonant + vowel for consonant in "bdgjklmnprst" for vowel in "aiueo"]
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
TEXT = "Jembatan penghubung dua desa di Kecamatan Cibiru retak parah dan bergoyang dilewati mobil."


def received(
    text: str = TEXT,
    nik: str = "3273011501900001",
    at: datetime = NOW,
    region: str = "32.73",
) -> ComplaintReceived:
    complaint_id = uuid.uuid4()
    return ComplaintReceived(
        complaint_id=complaint_id,
        correlation_id=complaint_id,
        producer="intake",
        payload=ComplaintReceivedPayload(
            tracking_code=f"LPR-{complaint_id.hex[:6]}",
            channel=Channel.WHATSAPP,
            reporter=Reporter(name="Warga", nik=nik, phone="+6281234567890"),
            description=text,
            location=Location(region_code=region),
            received_at=at,
        ),
    )


class Tables:
    """The whole state in memory: a `History` that every complaint reads and extends."""

    def __init__(self) -> None:
        self.history = History()
        self.decisions: dict[str, EventEnvelope] = {}

    def run(self, event: ComplaintReceived):  # type: ignore[no-untyped-def]
        findings = check_reporter_of(event, SECRET, self.history)
        return decide(event, findings, self.history, self.decisions)

    def stored(self) -> str:
        """Everything kept, as text (what a table would hold)."""
        history = self.history
        return repr([history.repeats, history.days, history.candidates, self.decisions])


def test_reporter_keys_are_keyed_hashes_and_never_hold_the_nik() -> None:
    key = reporter_key(SECRET, "3273011501900001", None, None)
    assert "3273011501900001" not in key and len(key) == 32
    assert key == reporter_key(SECRET, "3273 0115 0190 0001", "+62811", None)  # NIK wins
    assert key != reporter_key(b"another-key", "3273011501900001", None, None)
    tables = Tables()
    tables.run(received())
    stored = tables.stored()
    assert "3273011501900001" not in stored and "+6281234567890" not in stored


def test_an_exact_repeat_links_to_the_first_and_expires_after_the_window() -> None:
    tables = Tables()
    first = received()
    assert tables.run(first).event_type == "ComplaintAccepted"
    again = tables.run(received(text=TEXT.upper() + "!!"))  # same words after normalising
    assert again.event_type == "ComplaintDuplicateDetected"
    assert again.payload.match == "exact"  # type: ignore[attr-defined]
    assert again.payload.original_complaint_id == first.complaint_id  # type: ignore[attr-defined]
    much_later = NOW + timedelta(days=max(EXACT_REPEAT_DAYS, DUPLICATE_WINDOW_DAYS) + 32)
    assert tables.run(received(at=much_later)).event_type == "ComplaintAccepted"


def test_near_duplicates_stay_within_region_and_category() -> None:
    tables = Tables()
    tables.run(received())
    paraphrase = "Jembatan antar desa di Cibiru retak parah dan bergoyang kalau dilewati mobil."
    elsewhere = tables.run(received(paraphrase, nik="3578011501900002", region="35.78"))
    assert elsewhere.event_type == "ComplaintAccepted"  # another city: another bridge
    here = tables.run(received(paraphrase, nik="3273011501900003"))
    assert here.event_type == "ComplaintDuplicateDetected"
    assert here.payload.match == "near" and here.payload.similarity >= 0.7  # type: ignore[attr-defined]
    different = (
        "Jalan raya di depan terminal Cicaheum berlubang besar dan sering membuat motor jatuh."
    )
    assert tables.run(received(different, nik="3273011501900004")).event_type == (
        "ComplaintAccepted"
    )


def test_the_courtesy_formula_neither_makes_nor_breaks_a_near_duplicate() -> None:
    courtesy = " Mohon segera ditindaklanjuti oleh instansi terkait, terima kasih."
    tables = Tables()
    tables.run(received("Jalan di depan pasar Kosambi berlubang besar." + courtesy))
    other_problem = "Jalan di depan terminal Ledeng gelap, lampunya mati semua." + courtesy
    assert tables.run(received(other_problem, nik="3273011501900002")).event_type == (
        "ComplaintAccepted"
    )
    same_problem = "Jalan di depan pasar Kosambi berlubang besar sekali."
    assert tables.run(received(same_problem, nik="3273011501900003")).event_type == (
        "ComplaintDuplicateDetected"
    )


def test_near_duplicates_meet_at_the_incident_region_not_the_reporters_home() -> None:
    tables = Tables()
    first = tables.run(received())  # about Kota Bandung, from a Bandung NIK
    assert first.payload.region_source == "incident"  # type: ignore[attr-defined]
    paraphrase = "Jembatan antar desa di Cibiru retak parah dan bergoyang kalau dilewati mobil."
    # A Surabaya resident reports the same bridge in Bandung: it is the same problem.
    visitor = received(paraphrase, nik="3578011501900002")
    assert area_of(visitor).startswith("32.73|")
    assert tables.run(visitor).event_type == "ComplaintDuplicateDetected"
    # A Bandung resident reports a bridge in Surabaya: not the Bandung bridge.
    away = received(paraphrase, nik="3273011501900003", region="35.78")
    assert area_of(away).startswith("35.78|")
    accepted = tables.run(away)
    assert accepted.event_type == "ComplaintAccepted"
    assert accepted.payload.region_code == "35.78"  # type: ignore[attr-defined]
    assert accepted.payload.region_source == "incident"  # type: ignore[attr-defined]


def test_without_an_incident_location_the_decision_says_the_nik_region_was_used() -> None:
    event = received(nik="3578011501900005")
    no_place = event.model_copy(
        update={"payload": event.payload.model_copy(update={"location": Location()})}
    )
    decision = Tables().run(no_place)
    assert decision.event_type == "ComplaintAccepted"
    assert decision.payload.region_code == "35.78"  # type: ignore[attr-defined]
    assert decision.payload.region_source == "reporter_nik"  # type: ignore[attr-defined]


def test_candidate_buckets_stay_bounded() -> None:
    tables = Tables()
    decisions = []
    for index in range(MAX_CANDIDATES_PER_BUCKET + 30):
        rng = random.Random(index)
        place = " ".join(
            "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize() for _ in range(14)
        )
        text = f"Lampu jalan mati di kampung {place}."
        decisions.append(
            tables.run(received(text, nik=f"3273011501{index % 100:02d}{index + 1:04d}"))
        )
    assert {decision.event_type for decision in decisions} == {"ComplaintAccepted"}
    (bucket,) = tables.history.candidates.values()
    assert len(bucket) == MAX_CANDIDATES_PER_BUCKET  # the latest 64 are compared
    assert bucket[-1].complaint_id == str(decisions[-1].complaint_id)
    # Every accepted one is written (the table keeps them; a batch reads the latest 64).
    assert len(tables.history.added_candidates) == MAX_CANDIDATES_PER_BUCKET + 30


def test_more_than_the_daily_limit_goes_to_review_and_counts_each_complaint_once() -> None:
    tables = Tables()
    events = [
        received(
            f"Sampah di pasar blok {chr(65 + i)} menumpuk dan bau sudah {i + 2} minggu"
            " tanpa diangkut petugas"
        )
        for i in range(DAILY_LIMIT_PER_REPORTER + 1)
    ]
    results = [tables.run(event) for event in events]
    assert {r.event_type for r in results[:-1]} <= {
        "ComplaintAccepted",
        "ComplaintDuplicateDetected",
    }
    assert results[-1].event_type == "ComplaintNeedsReview"
    assert "rate_limited" in {r.code for r in results[-1].payload.reasons}  # type: ignore[attr-defined]
    replay = [tables.run(event) for event in events]  # redelivery does not count again
    assert [r.event_id for r in replay] == [r.event_id for r in results]


def test_a_banned_reporter_is_kept_but_never_forwarded() -> None:
    tables = Tables()
    tables.history.banned.add(reporter_key(SECRET, "3273011501900001", None, None))
    decision = tables.run(received())
    assert decision.event_type == "ComplaintRejected"
    assert "reporter_banned" in {r.code for r in decision.payload.reasons}  # type: ignore[attr-defined]


def test_pruned_state_is_state_no_rule_reads_for_a_complaint_within_the_grace() -> None:
    from services.triage.domain.duplicates import (
        PRUNE_GRACE_DAYS,
        Candidate,
        Original,
        check_reporter,
        day_of,
        expiry,
        find_near_duplicate,
        text_fingerprint,
    )

    expired = expiry(day_of(NOW))
    late = NOW - timedelta(days=PRUNE_GRACE_DAYS)  # the oldest complaint triaged now
    signed = "jembatan hubung dua desa camat cibiru retak parah goyang lewat mobil"

    def repeat_found(first_day: int) -> bool:
        key = ("who", text_fingerprint(TEXT))
        history = History(repeats={key: Original("first", "LPR-1", first_day)})
        found = check_reporter(
            reporter="who",
            complaint_id="late",
            tracking_code="LPR-2",
            text=TEXT,
            received_at=late,
            history=history,
        )
        return found.repeat_of is not None

    def candidate_found(received_day: int) -> bool:
        bucket = received_day // DUPLICATE_WINDOW_DAYS
        history = History(
            candidates={("a", bucket): [Candidate("first", "LPR-1", received_day, signed)]}
        )
        kwargs = {"area": "a", "complaint_id": "late", "received_at": late, "history": history}
        return find_near_duplicate(text=TEXT, **kwargs) is not None  # type: ignore[arg-type]

    assert repeat_found(expired.repeat_day) and not repeat_found(expired.repeat_day - 1)
    assert candidate_found(expired.candidate_day)
    assert not candidate_found(expired.candidate_day - 1)
    assert expired.candidate_day // DUPLICATE_WINDOW_DAYS >= expired.bucket
    assert day_of(late) == expired.day  # its daily count reads no earlier day
