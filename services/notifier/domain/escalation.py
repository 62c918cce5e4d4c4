"""The staff email an escalation causes (pure, no I/O): a CaseOverdue that carries an address
(level 1: the agency's supervisor, level 2: Setwapres) is emailed there, in Indonesian, once
per (case, deadline, level), besides the message the citizen gets (`rules.message_for`).

Routing derives each CaseOverdue's event id from (case, deadline kind, round, level), and the
email's row in the notifications table from that id (`staff_trigger_id`), so a replayed event
or a second instance records the same row, which the table keeps once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from schemas.events import Event, Language
from schemas.events.routing import CaseOverdue, DeadlineKind

STAFF_TEMPLATE = "overdue_staff"
STAFF_LANGUAGE = Language.INDONESIAN
JAKARTA = ZoneInfo("Asia/Jakarta")
MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
DEADLINE_NAMES_ID: dict[DeadlineKind, str] = {
    DeadlineKind.ANALYSIS: "analisis dan penerusan oleh Setwapres",
    DeadlineKind.AGENCY_RESPONSE: "tindak lanjut instansi",
    DeadlineKind.DOCUMENTS: "pengiriman dokumen pendukung",
}
DEADLINE_NAMES_EN: dict[DeadlineKind, str] = {
    DeadlineKind.ANALYSIS: "Setwapres' analysis and forwarding",
    DeadlineKind.AGENCY_RESPONSE: "the agency's follow-up",
    DeadlineKind.DOCUMENTS: "the supporting documents",
}


@dataclass(frozen=True)
class StaffEmail:
    """An email to an official: the address (a staff address, not a citizen's; still kept
    out of logs), the template and its facts (no personal data of the reporter)."""

    to: str
    template: str
    context: dict[str, Any]


def staff_trigger_id(event_id: uuid.UUID) -> uuid.UUID:
    """The notifications row's trigger id: the event's own id is taken by the citizen's
    message on the same channel, (trigger, channel) being the table's unique key."""
    return uuid.uuid5(event_id, "escalation:staff-email")


def due_in_wib(event: CaseOverdue) -> str:
    """'21 Agustus 2026 pukul 23.59 WIB'."""
    due = event.payload.due_at.astimezone(JAKARTA)
    return f"{due.day} {MONTHS_ID[due.month - 1]} {due.year} pukul {due:%H.%M} WIB"


def staff_email_for(event: Event) -> StaffEmail | None:
    """The escalation email `event` calls for; None when it is no escalation or carries no
    address (nobody to email: the directory or the settings lack it)."""
    if not isinstance(event, CaseOverdue) or not event.payload.escalation_email:
        return None
    payload = event.payload
    return StaffEmail(
        to=payload.escalation_email,
        template=STAFF_TEMPLATE,
        context={
            "tracking_code": payload.tracking_code,
            "agency_name": payload.agency_name,
            "agency_code": payload.agency_code,
            "escalation_level": payload.escalation_level,
            "escalated_to": payload.escalated_to,
            "deadline_name": DEADLINE_NAMES_ID[payload.deadline_kind],
            "deadline_name_en": DEADLINE_NAMES_EN[payload.deadline_kind],
            "due_wib": due_in_wib(event),
            "due_date": f"{payload.due_at.astimezone(JAKARTA):%Y-%m-%d %H:%M} WIB",
            "case_url": payload.case_url or "",
        },
    )
