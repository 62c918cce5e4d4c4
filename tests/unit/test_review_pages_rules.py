"""The review pages' pure rules (back office) and triage's claim expiry, audit-log query and
resembling complaints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.backoffice.domain.review import FormError, decision_of, oldest_first, wib_day_range
from services.triage.domain.duplicates import remember_candidate, resembling
from services.triage.domain.review import CLAIM_TTL, LogFilter, ReviewError, check_claim

NOW = datetime(2027, 2, 2, 3, 0, tzinfo=UTC)


def item(status: str, by: str | None = None, at: datetime | None = None) -> dict[str, object]:
    return {"status": status, "claimed_by": by, "claimed_at": at, "decided_by": None}


def test_a_claim_blocks_others_until_it_lapses_and_then_anyone_may_take_it() -> None:
    held = item("claimed", "rina", NOW)
    with pytest.raises(ReviewError) as refused:
        check_claim(held, "budi", NOW + CLAIM_TTL - timedelta(seconds=1))
    assert refused.value.status == 409 and "rina" in refused.value.message
    assert check_claim(held, "budi", NOW + CLAIM_TTL) is True
    assert check_claim(held, "rina", NOW) is False  # already hers: nothing to write
    assert check_claim(item("open"), "budi", NOW) is True
    with pytest.raises(ReviewError):
        check_claim({**item("decided"), "decided_by": "rina"}, "budi", NOW)


def test_the_log_filter_wants_known_actions_and_times_with_their_offset() -> None:
    query = LogFilter.parse({"reviewer": "rina", "action": "accept", "since": NOW.isoformat()})
    assert (query.reviewer, query.action, query.since) == ("rina", "accept", NOW)
    for bad in ({"action": "delete"}, {"since": "2027-02-02T10:00"}, {"limit": "x"}):
        with pytest.raises(ReviewError):
            LogFilter.parse(bad)


def test_wib_days_become_a_utc_range() -> None:
    query = wib_day_range("2027-02-02", "2027-02-02")
    assert datetime.fromisoformat(query["since"]) == datetime(2027, 2, 1, 17, 0, tzinfo=UTC)
    assert datetime.fromisoformat(query["before"]) == datetime(2027, 2, 2, 17, 0, tzinfo=UTC)
    assert wib_day_range("", "") == {}
    with pytest.raises(ValueError):
        wib_day_range("02/02/2027", "")


def test_decision_forms_need_what_the_citizen_or_the_log_needs() -> None:
    assert decision_of({"action": "accept", "category": "land"}).body["category"] == "land"
    with pytest.raises(FormError):
        decision_of({"action": "reject", "reason_code": "other", "note": " "})
    chosen = decision_of({"action": "duplicate", "original": "abc|LPR-1"})
    assert chosen.body["original_complaint_id"] == "abc"
    typed = {"action": "duplicate", "original": "other", "original_complaint_id": "x"}
    with pytest.raises(FormError):
        decision_of(typed)
    assert [
        i["n"] for i in oldest_first([{"n": 2, "created_at": "b"}], [{"n": 1, "created_at": "a"}])
    ] == [1, 2]


def test_resembling_lists_the_similar_accepted_complaints_most_similar_first() -> None:
    table: dict[str, str] = {}
    for n, text in enumerate(
        (
            "Jalan rusak berlubang di depan pasar induk sudah tiga bulan",
            "Sertifikat tanah kami belum terbit sejak lama",
        )
    ):
        remember_candidate(
            area="32.73|infrastructure",
            complaint_id=f"c{n}",
            tracking_code=f"LPR-{n}",
            text=text,
            received_at=NOW,
            candidates=table,
        )
    found = resembling(
        area="32.73|infrastructure",
        complaint_id="new",
        text="Jalan berlubang di depan pasar induk rusak parah",
        received_at=NOW,
        candidates=table,
    )
    assert [f["tracking_code"] for f in found] == ["LPR-0"]
    assert 0.5 <= found[0]["similarity"] <= 1.0 and "pasar" in found[0]["signature"]
