"""The agency desk's pages, pure: the inbox's filters (a GET form) turned into routing's
query, what a case file may show of a reporter, documents' sizes in words, the desk's actions
(which routing path, which text each takes) and the words for routing's refusals."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from schemas.events.base import Category
from services.backoffice.domain.wording import CASE_STATUSES, JAKARTA

REGION = re.compile(r"^[0-9]{2}(\.[0-9]{2}){0,2}$")  # routing's region prefix
INBOX_LIMIT = 200
CATEGORIES = tuple(category.value for category in Category)
STATUSES = tuple(CASE_STATUSES)
ANONYMOUS = {"id": "Anonim", "en": "Anonymous"}


@dataclass(frozen=True)
class InboxQuery:
    """What the member chose (to fill the form again) and routing's query for it."""

    chosen: dict[str, str]
    params: list[tuple[str, str]]
    invalid: tuple[str, ...]  # the fields whose values were not understood (ignored)


def _one(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def inbox_query(values: Mapping[str, Any]) -> InboxQuery:
    """The inbox form's values (status, category, region, due_before as YYYY-MM-DD, overdue,
    mine) as routing's `GET /v1/desk/cases` query, by due date; a value that is not valid is
    left out and named in `invalid`. `due_before` is that day's start in WIB."""
    chosen = {name: _one(values, name) for name in ("status", "category", "region", "due_before")}
    chosen |= {flag: "1" for flag in ("overdue", "mine") if _one(values, flag)}
    params: list[tuple[str, str]] = [("sort", "due"), ("limit", str(INBOX_LIMIT))]
    invalid: list[str] = []
    checks = {
        "status": ("status", lambda v: v if v in STATUSES else None),
        "category": ("category", lambda v: v if v in CATEGORIES else None),
        "region": ("region_prefix", lambda v: v if REGION.match(v) else None),
        "due_before": ("due_before", _start_of_day),
    }
    for field, (param, check) in checks.items():
        if not chosen[field]:
            continue
        value = check(chosen[field])
        if value is None:
            invalid.append(field)
            chosen[field] = ""
        else:
            params.append((param, value))
    if "overdue" in chosen:
        params.append(("overdue", "true"))
    if "mine" in chosen:
        params.append(("mine", "true"))
    return InboxQuery(chosen, params, tuple(invalid))


def _start_of_day(value: str) -> str | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime.combine(day, time(0, 0), JAKARTA).isoformat()


def reporter_shown(reporter: Mapping[str, Any], lang: str = "id") -> dict[str, str | None]:
    """What the case page shows of a reporter: an anonymous one is "Anonim" and nothing
    else; a secret one by name only (secret hides the report from the public, not from
    the agency, but the page shows no more than it needs); otherwise name, phone, email."""
    contact = reporter.get("contact") or {}
    if reporter.get("anonymous") or not contact:
        return {"name": ANONYMOUS["en" if lang == "en" else "id"], "phone": None, "email": None}
    if reporter.get("secret"):
        return {"name": contact.get("name"), "phone": None, "email": None}
    return {key: contact.get(key) for key in ("name", "phone", "email")}


def file_size(size: int | None, lang: str = "id") -> str:
    """`4,0 KB` (Indonesian decimal comma) / `4.0 KB`; unknown: "-"."""
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KB"
    if value >= 1024:
        value, unit = value / 1024, "MB"
    text = f"{value:.1f}"
    return f"{text.replace('.', ',') if lang != 'en' else text} {unit}"


@dataclass(frozen=True)
class DeskAction:
    key: str  # the page's name for it, and routing's path: /v1/desk/cases/{id}/{key}
    field: str | None  # the text it sends: "note", "reason" or nothing
    text_required: bool


DESK_ACTIONS = (
    DeskAction("accept", None, False),
    DeskAction("request-documents", "note", True),
    DeskAction("respond", "note", True),
    DeskAction("close", "note", False),
    DeskAction("not-in-remit", "reason", True),
)
ACTIONS = {action.key: action for action in DESK_ACTIONS}


class ActionRefused(ValueError):
    """The page's own check failed; the value is the words' key."""


def action_body(action: DeskAction, form: Mapping[str, Any]) -> dict[str, str]:
    """Routing's JSON body for `action` from the posted form; ActionRefused("confirm") without
    its "I am sure" box (`confirm-<action>`: one name per box, or screen readers would take
    the page's boxes for one group), ActionRefused("text") without a text the action needs."""
    if _one(form, f"confirm-{action.key}") != "yes":
        raise ActionRefused("confirm")
    if action.field is None:
        return {}
    text = _one(form, action.field)
    if not text:
        if action.text_required:
            raise ActionRefused("text")
        return {}
    return {action.field: text[:4000] if action.field == "note" else text[:500]}


def refusal(status_code: int, body: Any) -> tuple[str, str]:
    """Routing's refusal as (the words' key, its detail): 409 a step the case's status does
    not allow, 422 a value refused (the fields named), 403 a role routing does not accept."""
    detail = body.get("detail") if isinstance(body, Mapping) else None
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        fields = [
            ".".join(str(p) for p in e.get("loc", ())[1:]) for e in detail if isinstance(e, Mapping)
        ]
        detail = ", ".join(f for f in fields if f)
    key = {409: "conflict", 422: "invalid", 403: "forbidden", 404: "gone"}.get(
        status_code, "failed"
    )
    return key, str(detail or "")


def overdue(due_at: str | None, now: datetime, status: str | None = None) -> bool:
    """A case past its due date and still open (closed or handed back: never late)."""
    if not due_at or status in ("closed", "not_in_remit"):
        return False
    return datetime.fromisoformat(due_at) < now


def overdue_by_case(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Routing's overdue list (one row per missed deadline) as one row per case, in the
    list's order (the longest overdue first), with its missed deadlines and the furthest
    escalation among them."""
    cases: dict[str, dict[str, Any]] = {}
    for row in rows:
        case = cases.setdefault(str(row["case_id"]), {**row, "missed": []})
        case["missed"].append(row)
        if row.get("escalation_level", 0) > case.get("escalation_level", 0):
            case.update(
                {key: row.get(key) for key in ("escalation_level", "escalated_to", "escalated_at")}
            )
    return list(cases.values())


def by_due_date(cases: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The cases by due date (routing sorts so too when asked; this keeps the page's promise
    whatever the answer's order); a case without one last."""
    latest = datetime.max.replace(tzinfo=JAKARTA)
    return sorted(
        cases, key=lambda c: datetime.fromisoformat(c["due_at"]) if c.get("due_at") else latest
    )
