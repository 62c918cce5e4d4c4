"""The agency pages' pure rules: the inbox form as routing's query, what the case page shows
of a reporter, sizes, the actions' confirmation and texts, routing's refusals in words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.backoffice.domain.cases import (
    ACTIONS,
    ActionRefused,
    action_body,
    file_size,
    inbox_query,
    overdue,
    overdue_by_case,
    refusal,
    reporter_shown,
)

NOW = datetime(2026, 8, 13, 2, 0, tzinfo=UTC)


def test_the_inbox_form_becomes_routings_query_by_due_date() -> None:
    query = inbox_query(
        {
            "status": "in_progress",
            "category": "land",
            "region": "32.73",
            "due_before": "2026-08-20",
        },
    )
    assert query.invalid == ()
    assert dict(query.params) == {
        "sort": "due",
        "limit": "200",
        "status": "in_progress",
        "category": "land",
        "region_prefix": "32.73",
        "due_before": "2026-08-20T00:00:00+07:00",  # the day's start in WIB
    }
    flags = inbox_query({"overdue": "1", "mine": "1", "status": ""})
    assert ("overdue", "true") in flags.params and ("mine", "true") in flags.params
    assert flags.chosen["overdue"] == flags.chosen["mine"] == "1"


def test_values_routing_would_refuse_are_left_out_and_named() -> None:
    query = inbox_query(
        {"status": "lost", "category": "x", "region": "Jakarta", "due_before": "besok"}
    )
    assert query.invalid == ("status", "category", "region", "due_before")
    assert dict(query.params) == {"sort": "due", "limit": "200"}
    assert query.chosen["region"] == ""


def test_a_reporter_is_shown_as_far_as_the_report_allows() -> None:
    contact = {"name": "Siti", "phone": "+62812", "email": "s@contoh.id"}
    assert reporter_shown({"contact": contact}) == contact
    assert reporter_shown({"anonymous": True, "contact": None}) == {
        "name": "Anonim",
        "phone": None,
        "email": None,
    }
    assert reporter_shown({"anonymous": True, "contact": None}, "en")["name"] == "Anonymous"
    assert reporter_shown({"secret": True, "contact": contact}) == {
        "name": "Siti",
        "phone": None,
        "email": None,
    }


def test_sizes_read_in_the_pages_language() -> None:
    assert file_size(None) == "-"
    assert file_size(512) == "512 B"
    assert file_size(4096) == "4,0 KB" and file_size(4096, "en") == "4.0 KB"
    assert file_size(3 * 1024 * 1024 + 1024 * 512) == "3,5 MB"


def test_an_action_needs_the_confirmation_and_its_text() -> None:
    with pytest.raises(ActionRefused, match="confirm"):
        action_body(ACTIONS["accept"], {})
    assert action_body(ACTIONS["accept"], {"confirm-accept": "yes"}) == {}
    with pytest.raises(ActionRefused, match="text"):
        action_body(ACTIONS["respond"], {"confirm-respond": "yes", "note": "  "})
    assert action_body(ACTIONS["respond"], {"confirm-respond": "yes", "note": " Beres "}) == {
        "note": "Beres"
    }
    assert action_body(ACTIONS["close"], {"confirm-close": "yes", "note": ""}) == {}
    assert action_body(
        ACTIONS["not-in-remit"], {"confirm-not-in-remit": "yes", "reason": "Pemda"}
    ) == {"reason": "Pemda"}


def test_routings_refusals_become_words_and_details() -> None:
    assert refusal(409, {"detail": "cannot respond a case that is assigned"}) == (
        "conflict",
        "cannot respond a case that is assigned",
    )
    invalid = {"detail": [{"loc": ["body", "note"], "msg": "too long"}]}
    assert refusal(422, invalid) == ("invalid", "note")
    assert refusal(400, None) == ("failed", "")


def test_an_open_case_past_its_due_date_is_overdue() -> None:
    assert overdue("2026-08-12T00:00:00+00:00", NOW, "in_progress")
    assert not overdue("2026-08-12T00:00:00+00:00", NOW, "closed")
    assert not overdue("2026-08-14T00:00:00+00:00", NOW, "assigned")
    assert not overdue(None, NOW)


def test_the_overdue_list_has_one_row_per_case_with_its_missed_deadlines() -> None:
    rows = [
        {"case_id": "a", "deadline_kind": "analysis", "escalation_level": 0, "escalated_to": None},
        {"case_id": "b", "deadline_kind": "documents", "escalation_level": 0},
        {"case_id": "a", "deadline_kind": "agency_response", "escalation_level": 1,
         "escalated_to": "Pimpinan", "escalated_at": "2026-08-20T00:00:00+00:00"},
    ]  # fmt: skip
    cases = overdue_by_case(rows)
    assert [case["case_id"] for case in cases] == ["a", "b"]
    assert [m["deadline_kind"] for m in cases[0]["missed"]] == ["analysis", "agency_response"]
    assert (cases[0]["escalation_level"], cases[0]["escalated_to"]) == (1, "Pimpinan")
