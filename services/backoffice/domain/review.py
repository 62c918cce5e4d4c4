"""The review pages' pure rules: the queue's order, the audit log's date range in WIB, and a
reviewer's decision form turned into the body of triage's review API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.backoffice.domain.wording import JAKARTA

DECISIONS = ("accept", "reject", "duplicate")


def oldest_first(*lists: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The waiting and claimed items together, the oldest first."""
    items = [item for found in lists for item in found]
    return sorted(items, key=lambda item: str(item.get("created_at") or ""))


def wib_day_range(first: str, last: str) -> dict[str, str]:
    """`since`/`before` (ISO, with offset) for WIB calendar days `first`..`last` (YYYY-MM-DD,
    both included; either may be empty). Unreadable dates raise ValueError."""
    query = {}
    if first:
        query["since"] = datetime.combine(date.fromisoformat(first), time(), JAKARTA).isoformat()
    if last:
        day_after = date.fromisoformat(last) + timedelta(days=1)
        query["before"] = datetime.combine(day_after, time(), JAKARTA).isoformat()
    return query


@dataclass(frozen=True)
class Decision:
    """A decision form, ready for triage: the action and the JSON body."""

    action: str
    body: dict[str, str]


class FormError(ValueError):
    """A decision form the reviewer must complete (`key`: which text explains it)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def decision_of(form: Mapping[str, str]) -> Decision:
    """The decision in a submitted form; FormError for what is missing."""
    action = form.get("action", "")
    note = form.get("note", "").strip()
    if action == "accept":
        return Decision("accept", {"category": form.get("category", ""), "note": note})
    if action == "reject":
        reason = form.get("reason_code", "").strip()
        if not reason or not note:
            raise FormError("reject_needs_reason")
        return Decision("reject", {"reason_code": reason, "note": note})
    if action == "duplicate":
        chosen = form.get("original", "").strip()
        original_id, _, code = chosen.partition("|")
        if not chosen or chosen == "other":
            original_id = form.get("original_complaint_id", "").strip()
            code = form.get("original_tracking_code", "").strip()
        if not original_id or not code:
            raise FormError("duplicate_needs_original")
        body = {"original_complaint_id": original_id, "original_tracking_code": code}
        return Decision("duplicate", {**body, "note": note})
    raise FormError("unknown_action")
