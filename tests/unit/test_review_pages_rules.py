"""The review pages' pure rules (back office) and triage's claim expiry, audit-log query and
resembling complaints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from starlette.requests import Request

from services.backoffice.domain.review import FormError, decision_of, oldest_first, wib_day_range
from services.backoffice.entrypoints.pages import render
from services.backoffice.entrypoints.review_texts import WORDS
from services.triage.adapters import views
from services.triage.domain.duplicates import History, remember_candidate, resembling
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
    history = History()
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
            history=history,
        )
    found = resembling(
        area="32.73|infrastructure",
        complaint_id="new",
        text="Jalan berlubang di depan pasar induk rusak parah",
        received_at=NOW,
        history=history,
    )
    assert [f["tracking_code"] for f in found] == ["LPR-0"]
    assert 0.5 <= found[0]["similarity"] <= 1.0 and "pasar" in found[0]["signature"]


def test_the_claim_hint_shows_the_length_triage_gives_with_the_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The back office keeps no copy of triage's claim length: the item page shows the
    `claim_minutes` triage's review API gives (45 here, to tell it from a copy of 30)."""
    monkeypatch.setattr(views, "CLAIM_MINUTES", 45)
    row = {
        "complaint_id": "0b0b0b0b-0000-4000-8000-000000000001",
        "tracking_code": "LPR-AAAA-TEST-AAA",
        "status": "open",
        "category": "land",
        "priority": "normal",
        "region_code": "31.71",
        "needs_review": json.dumps({"payload": {"reasons": [], "warnings": []}}),
        "description": "Sertifikat tanah saya tidak terbit.",
        "claimed_by": None,
        "decision": None,
        "decided_by": None,
    }
    item = views.review_item(row)
    assert item["claim_minutes"] == 45
    request = Request(
        {"type": "http", "path": "/staff/tinjau/x", "query_string": b"", "headers": []}
    )
    page = render(
        request,
        "review_item.html",
        title="Tinjau",
        item=item,
        me="rina",
        categories=["land"],
        reject_reasons={},
        i=WORDS["id"],
        csrf_token="t",
    )
    assert "Klaim berlaku 45 menit" in page.body.decode()
