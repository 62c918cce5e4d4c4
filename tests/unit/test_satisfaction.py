"""The satisfaction flow's pure parts: reading the citizen's answer (intake), the answer
window, and the re-opening step of routing's case lifecycle."""

from datetime import UTC, datetime, timedelta

import pytest

from schemas.events.routing import CaseStatus
from services.intake.domain.complaints import CASE_STATUSES, SETTLED_RANKS
from services.intake.domain.satisfaction import Answer, answer_window_open, parse_answer
from services.routing.domain import (
    MANUAL_DISPOSITION,
    TRANSITIONS,
    Action,
    TransitionNotAllowed,
    check_desk_action,
    next_status,
    reopens_on_answer,
)

S = CaseStatus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PUAS", Answer(True)),
        ("puas", Answer(True)),
        ("Puas!", Answer(True)),
        ("  puas.  ", Answer(True)),
        ("Sangat puas 🙏", Answer(True)),
        ("SATISFIED", Answer(True)),
        ("satisfied!!", Answer(True)),
        ("TIDAK PUAS", Answer(False)),
        ("tidak puas", Answer(False)),
        ("Tidak-puas!!", Answer(False)),
        ("tdk puas", Answer(False)),
        ("gak puas...", Answer(False)),
        ("kurang puas", Answer(False)),
        ("NOT SATISFIED", Answer(False)),
        ("Not satisfied.", Answer(False)),
        ("dissatisfied", Answer(False)),
        ("5", Answer(True, 5, bare_score=True)),
        ("4/5", Answer(True, 4)),
        ("3", Answer(True, 3, bare_score=True)),
        ("2", Answer(False, 2, bare_score=True)),
        ("1.", Answer(False, 1, bare_score=True)),
        ("nilai 2", Answer(False, 2)),
        ("PUAS 5", Answer(True, 5)),
        ("tidak puas, 2", Answer(False, 2)),
        ("TIDAK PUAS 4", Answer(False, 4)),  # the word decides, the score is kept
    ],
)
def test_answers_are_read_forgivingly(text: str, expected: Answer) -> None:
    assert parse_answer(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "!!!",
        "6",
        "0",
        "12",
        "halo",
        "puasa",  # fasting, not satisfied
        "LAPOR#Siti#3171015501900001#Jakarta#Jalan rusak",
        "STATUS#LPR-AAAA-BBBB-CCC",
        "saya tidak puas karena jalan di depan rumah masih rusak parah sampai hari ini",
        "puas tapi",
    ],
)
def test_other_messages_are_not_answers(text: str | None) -> None:
    assert parse_answer(text) is None


def test_answers_are_taken_for_10_days_after_the_closing() -> None:
    closed = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert answer_window_open(closed, closed + timedelta(days=10))
    assert not answer_window_open(closed, closed + timedelta(days=10, seconds=1))


def test_a_closed_case_reopens_and_setwapres_disposes_or_closes_it_with_a_note() -> None:
    assert next_status(S.CLOSED, Action.REOPEN) is S.REOPENED
    assert next_status(S.REOPENED, Action.DISPOSE) is S.ASSIGNED
    assert check_desk_action(Action.CLOSE, S.REOPENED, MANUAL_DISPOSITION, "Sudah dicek") is (
        S.CLOSED
    )
    with pytest.raises(TransitionNotAllowed, match="needs a note"):
        check_desk_action(Action.CLOSE, S.REOPENED, MANUAL_DISPOSITION, "  ")
    # a responded case still closes without one
    assert check_desk_action(Action.CLOSE, S.RESPONDED, "KEMENKES") is S.CLOSED


@pytest.mark.parametrize("status", [s for s in S if s is not S.CLOSED])
def test_only_a_closed_case_reopens(status: CaseStatus) -> None:
    with pytest.raises(TransitionNotAllowed):
        next_status(status, Action.REOPEN)


@pytest.mark.parametrize(
    "action", [Action.ACCEPT, Action.RESPOND, Action.REQUEST_DOCUMENTS, Action.NOT_IN_REMIT]
)
def test_a_reopened_case_is_not_worked_like_an_agency_case(action: Action) -> None:
    with pytest.raises(TransitionNotAllowed):
        next_status(S.REOPENED, action)
    assert S.REOPENED not in TRANSITIONS[action][0]


CLOSED_AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("satisfied", "current", "after", "before", "reopens"),
    [
        (False, S.CLOSED, timedelta(hours=2), False, True),
        (False, S.CLOSED, timedelta(days=10), False, True),
        (False, S.CLOSED, timedelta(days=10, seconds=1), False, False),  # too late
        (True, S.CLOSED, timedelta(hours=2), False, False),  # PUAS
        (False, S.REOPENED, timedelta(hours=2), False, False),  # a co-reporter re-opened it
        (False, S.ASSIGNED, timedelta(hours=2), False, False),  # disposed again meanwhile
        (False, S.CLOSED, timedelta(hours=2), True, False),  # a case re-opens once
    ],
)
def test_a_refusal_reopens_within_10_days_once(
    satisfied: bool, current: CaseStatus, after: timedelta, before: bool, reopens: bool
) -> None:
    assert (
        reopens_on_answer(
            satisfied=satisfied,
            current=current,
            closed_at=CLOSED_AT,
            rated_at=CLOSED_AT + after,
            reopened_before=before,
        )
        is reopens
    )


def test_intake_shows_a_reopened_case_over_closed_then_follows_its_next_steps() -> None:
    status, rank = CASE_STATUSES["reopened"]
    assert status == "reopened" and rank >= CASE_STATUSES["closed"][1]
    assert SETTLED_RANKS["reopened"] == CASE_STATUSES["assigned"][1]
