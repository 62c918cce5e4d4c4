"""Folding a batch's status changes for one complaint: the same end as one conditional
UPDATE per event (`status_rank <= rank`, `coalesce` of the agency name and deadlines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.intake.domain.complaints import StatusChange, StatusReached, fold_status_changes

DUE = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)


def one_by_one(stored_rank: int, changes: list[StatusChange]) -> StatusReached | None:
    """The row as the old statement per event left it (None: never touched)."""
    row: StatusReached | None = None
    rank = stored_rank
    for change in changes:
        if rank <= change.rank:
            rank = change.rank if change.settles_at is None else change.settles_at
            row = StatusReached(
                change.status,
                rank,
                change.detail,
                change.agency_name if change.agency_name is not None else row and row.agency_name,
                change.response_due_at
                if change.response_due_at is not None
                else row and row.response_due_at,
                change.documents_due_at
                if change.documents_due_at is not None
                else row and row.documents_due_at,
            )
    return row


def test_changes_below_the_rank_reached_do_not_apply() -> None:
    accepted = StatusChange("verified", 10, "category: social")
    assigned = StatusChange("assigned", 20, None, "Kementerian Sosial", response_due_at=DUE)
    late = StatusChange("verified", 10, "late")
    end = fold_status_changes(0, [accepted, assigned, late])
    assert end == StatusReached("assigned", 20, None, "Kementerian Sosial", DUE, None)
    assert end == one_by_one(0, [accepted, assigned, late])


def test_nothing_applies_above_the_stored_rank() -> None:
    assert fold_status_changes(50, [StatusChange("in_progress", 20)]) is None


def test_a_reopening_settles_lower_so_the_cases_next_events_apply_again() -> None:
    reopened = StatusChange("in_progress", 60, "reopened", settles_at=20)
    progress = StatusChange("awaiting_documents", 20, documents_due_at=DUE + timedelta(days=1))
    changes = [reopened, progress]
    end = fold_status_changes(50, changes)
    assert end is not None and end.status == "awaiting_documents" and end.rank == 20
    assert end.documents_due_at == DUE + timedelta(days=1)
    assert end == one_by_one(50, changes)


def test_the_agency_and_deadlines_of_earlier_changes_stay_when_later_ones_have_none() -> None:
    assigned = StatusChange("assigned", 20, None, "Kementerian Sosial", response_due_at=DUE)
    progress = StatusChange("in_progress", 30, "note")
    end = fold_status_changes(10, [assigned, progress])
    assert end == StatusReached("in_progress", 30, "note", "Kementerian Sosial", DUE, None)
    assert end == one_by_one(10, [assigned, progress])
