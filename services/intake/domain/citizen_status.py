"""The status in a citizen's words, pure: what each status of intake's read model means, what
happens next and by when, with times in WIB, in Bahasa Indonesia and English.

One place for every view a citizen reads: the status page, the JSON API's display fields, the
owner's view and the WhatsApp `STATUS#` reply. A secret report's public view keeps only its
status and timeline steps: no agency notes, no agency name, no details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from schemas.events import Language

JAKARTA = ZoneInfo("Asia/Jakarta")
ANALYSIS_WORKING_DAYS = 14  # Setwapres' service standard: analyse and forward
AGENCY_RESPONSE_WORKING_DAYS = 5  # SP4N-LAPOR!: the agency's follow-up, when no date is known
DOCUMENTS_CALENDAR_DAYS = 10  # missing documents may follow within 10 days of the request

ID, EN = Language.INDONESIAN, Language.ENGLISH
_MONTHS = {
    ID: ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    EN: ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}

# Every status intake's read model holds: the current ones (domain.complaints.status_change,
# the filing's 'received') and the timeline-only ones (rank -1).
LABELS: dict[str, dict[Language, str]] = {
    "received": {ID: "Diterima", EN: "Received"},
    "under_review": {ID: "Sedang diperiksa petugas", EN: "Being checked by our staff"},
    "verified": {ID: "Terverifikasi, sedang dianalisis", EN: "Verified, being analysed"},
    "rejected": {ID: "Tidak dapat diproses", EN: "Cannot be processed"},
    "duplicate": {ID: "Digabung dengan laporan lain", EN: "Joined to another report"},
    "forwarded_to_agency": {ID: "Diteruskan ke instansi", EN: "Forwarded to the agency"},
    "in_progress": {ID: "Sedang ditindaklanjuti instansi", EN: "Being handled by the agency"},
    "awaiting_documents": {ID: "Menunggu dokumen dari Anda", EN: "Waiting for your documents"},
    "first_response_received": {
        ID: "Tanggapan pertama diterima",
        EN: "First response received",
    },
    "being_rerouted": {ID: "Dialihkan ke instansi lain", EN: "Being passed to another agency"},
    "closed": {ID: "Selesai", EN: "Closed"},
    "reopened": {
        ID: "Dibuka kembali, ditinjau ulang oleh Setwapres",
        EN: "Re-opened, being looked at again by Setwapres",
    },
    "deadline_approaching": {ID: "Batas waktu segera tiba", EN: "Deadline approaching"},
    "overdue": {
        ID: "Melewati batas waktu, diteruskan ke atasan",
        EN: "Past its deadline, escalated",
    },
    "notified": {ID: "Pemberitahuan dikirim kepada Anda", EN: "A message was sent to you"},
}

NEXT_STEPS: dict[str, dict[Language, str]] = {
    "received": {
        ID: "Laporan Anda akan diperiksa, lalu dianalisis dan diteruskan ke instansi yang"
        " berwenang.",
        EN: "Your report will be checked, then analysed and forwarded to the agency in charge.",
    },
    "under_review": {
        ID: "Petugas Setwapres memeriksa laporan Anda, lalu meneruskannya ke instansi yang"
        " berwenang.",
        EN: "Setwapres staff are checking your report, then forward it to the agency in charge.",
    },
    "verified": {
        ID: "Setwapres menganalisis laporan Anda dan meneruskannya ke instansi yang berwenang.",
        EN: "Setwapres analyses your report and forwards it to the agency in charge.",
    },
    "rejected": {
        ID: "Laporan ini tidak diproses lebih lanjut. Anda boleh mengirim laporan baru yang"
        " memenuhi syarat.",
        EN: "This report goes no further. You may send a new report that meets the requirements.",
    },
    "duplicate": {
        ID: "Masalah yang sama sudah dilaporkan; laporan Anda mengikuti laporan itu.",
        EN: "The same problem was already reported; your report follows that one.",
    },
    "forwarded_to_agency": {
        ID: "Instansi mempelajari laporan Anda dan memberi tanggapan.",
        EN: "The agency studies your report and responds.",
    },
    "in_progress": {
        ID: "Instansi sedang menindaklanjuti laporan Anda dan akan memberi tanggapan.",
        EN: "The agency is acting on your report and will respond.",
    },
    "awaiting_documents": {
        ID: "Kirim dokumen yang diminta (halaman Tambah, atau TAMBAH# di WhatsApp); tanpa"
        " dokumen itu laporan tidak diproses.",
        EN: "Send the documents asked for (the Add page, or TAMBAH# on WhatsApp); without them"
        " the report is not processed.",
    },
    "first_response_received": {
        ID: "Instansi sudah menanggapi. Laporan ditutup setelah tindak lanjutnya selesai.",
        EN: "The agency has responded. The report is closed once its follow-up is done.",
    },
    "being_rerouted": {
        ID: "Instansi menyatakan ini bukan wewenangnya; laporan dialihkan ke instansi yang"
        " berwenang.",
        EN: "The agency says this is outside its remit; the report goes to the agency in charge.",
    },
    "closed": {
        ID: "Laporan ini sudah selesai ditangani. Puas dengan penanganannya? Beri penilaian"
        " dalam 10 hari (halaman Penilaian, atau balas PUAS / TIDAK PUAS di WhatsApp).",
        EN: "This report has been dealt with. Satisfied with how it was handled? Rate it within"
        " 10 days (the Rating page, or reply SATISFIED / NOT SATISFIED on WhatsApp).",
    },
    "reopened": {
        ID: "Anda belum puas atas tanggapan instansi. Setwapres meninjau ulang laporan ini, lalu"
        " meneruskannya kembali ke instansi atau menutupnya dengan penjelasan.",
        EN: "You were not satisfied with the agency's response. Setwapres looks at the report"
        " again, then forwards it to an agency again or closes it with an explanation.",
    },
}

_DUE: dict[str, dict[Language, str]] = {
    "analysis": {
        ID: "paling lambat {days} hari kerja sejak laporan diterima ({date})",
        EN: "within {days} working days of receipt ({date})",
    },
    "response_at": {ID: "paling lambat {when}", EN: "by {when}"},
    "response_days": {
        ID: "paling lambat {days} hari kerja sejak diteruskan ke instansi",
        EN: "within {days} working days of forwarding to the agency",
    },
    "documents_at": {
        ID: "paling lambat {when} ({days} hari sejak dokumen diminta)",
        EN: "by {when} ({days} days from the request)",
    },
    "documents_days": {
        ID: "dalam {days} hari sejak dokumen diminta",
        EN: "within {days} days from the request",
    },
}
_ANALYSED = {"received", "under_review", "verified"}
_WITH_AGENCY = {"forwarded_to_agency", "in_progress"}
# Timeline entries whose detail is written for the citizen: the agency's name or its note.
_AGENCY_ENTRIES = {"CaseAssigned", "CaseStatusChanged"}


def language_of(value: object) -> Language:
    """`en` is English; anything else (absent, unknown) is Bahasa Indonesia."""
    return EN if value in (EN, "en") else ID


def in_wib(moment: datetime) -> datetime:
    return moment.astimezone(JAKARTA)


def format_wib(moment: datetime, language: Language, *, with_time: bool = True) -> str:
    """`7 Des 2026 09.30 WIB` / `7 Dec 2026 09:30 WIB` (Indonesian writes hours with a dot)."""
    local = in_wib(moment)
    day = f"{local.day} {_MONTHS[language][local.month - 1]} {local.year}"
    if not with_time:
        return day
    separator = "." if language is ID else ":"
    return f"{day} {local.hour:02d}{separator}{local.minute:02d} WIB"


def label(status: str, language: Language) -> str:
    words = LABELS.get(status)
    if words is None:  # a status newer than this table: still readable, never an error
        return status.replace("_", " ").capitalize()
    return words[language]


def next_step(status: str, language: Language) -> str | None:
    steps = NEXT_STEPS.get(status)
    return steps[language] if steps else None


@dataclass(frozen=True)
class Deadline:
    text: str  # always there: a date, or the service standard in working days
    at: datetime | None  # None when only the standard is known, never an invented date


def deadline(
    status: str,
    language: Language,
    *,
    received_at: datetime,
    response_due_at: datetime | None = None,
    documents_due_at: datetime | None = None,
) -> Deadline | None:
    """By when the next step is due, or None when nothing is awaited (closed, rejected...)."""
    due = _DUE
    if status in _ANALYSED:
        date = format_wib(received_at, language, with_time=False)
        return Deadline(
            due["analysis"][language].format(days=ANALYSIS_WORKING_DAYS, date=date), None
        )
    if status in _WITH_AGENCY:
        if response_due_at is None:
            text = due["response_days"][language].format(days=AGENCY_RESPONSE_WORKING_DAYS)
            return Deadline(text, None)
        when = format_wib(response_due_at, language)
        return Deadline(due["response_at"][language].format(when=when), response_due_at)
    if status == "awaiting_documents":
        days = DOCUMENTS_CALENDAR_DAYS
        if documents_due_at is None:
            return Deadline(due["documents_days"][language].format(days=days), None)
        when = format_wib(documents_due_at, language)
        text = due["documents_at"][language].format(when=when, days=days)
        return Deadline(text, documents_due_at)
    return None


def entry_note(event_type: str, detail: str | None) -> str | None:
    """The part of a timeline entry's detail written for the citizen: the agency's name or
    note, or the report a duplicate joined; internal details (category, back-office notes,
    message templates, escalation targets) stay out of the citizen's words."""
    if not detail:
        return None
    if event_type in _AGENCY_ENTRIES:
        return detail
    if event_type == "ComplaintDuplicateDetected":
        return detail.rsplit(" ", 1)[-1]  # "joined report LPR-…": the report's code
    return None


def citizen_view(
    view: Mapping[str, Any], language: Language, *, public: bool = True
) -> dict[str, Any]:
    """A status view (adapters.views.status_view) with its display fields in `language`.

    `public`: the view anyone with the tracking code reads. A secret report's public view
    keeps its status and timeline steps only: no status detail, agency name or notes.
    """
    hidden = public and bool(view.get("secret"))
    status = str(view["status"])
    timeline = list(view.get("timeline", ()))
    due = deadline(
        status,
        language,
        received_at=view["received_at"],
        response_due_at=view.get("response_due_at"),
        # Routing's date, carried on its CaseStatusChanged: one rule, routing's.
        documents_due_at=view.get("documents_due_at"),
    )
    return {
        **view,
        "language": language.value,
        "secret": bool(view.get("secret")),
        "status_detail": None if hidden else view.get("status_detail"),
        "agency_name": None if hidden else view.get("agency_name"),
        "status_label": label(status, language),
        "next_step": next_step(status, language),
        "due_by": due.text if due else None,
        "due_at": due.at if due else None,
        "received_at_wib": format_wib(view["received_at"], language),
        "updated_at_wib": format_wib(view["updated_at"], language),
        "timeline": [_entry(entry, language, hidden) for entry in timeline],
    }


def _entry(entry: Mapping[str, Any], language: Language, hidden: bool) -> dict[str, Any]:
    detail = None if hidden else entry.get("detail")
    return {
        **entry,
        "detail": detail,
        "status_label": label(str(entry["status"]), language),
        "note": entry_note(str(entry["event_type"]), detail),
        "occurred_at_wib": format_wib(entry["occurred_at"], language),
    }


_REPLY = {
    ID: {
        "status": "Status laporan {code}: {label}{agency}.\nDiperbarui {updated}.",
        "next": "Langkah berikutnya: {step}",
        "due": "Batas waktu: {due}.",
        "secret": "Laporan ini rahasia: hanya status dan langkahnya yang kami tampilkan.",
    },
    EN: {
        "status": "Status of report {code}: {label}{agency}.\nUpdated {updated}.",
        "next": "Next: {step}",
        "due": "Due: {due}.",
        "secret": "This report is secret: we show only its status and steps.",
    },
}


def status_reply(view: Mapping[str, Any]) -> str:
    """The `STATUS#` reply from a `citizen_view` (public): words, agency, next step, by when."""
    language = language_of(view["language"])
    texts = _REPLY[language]
    agency = f" ({view['agency_name']})" if view.get("agency_name") else ""
    lines = [
        texts["status"].format(
            code=view["tracking_code"],
            label=view["status_label"],
            agency=agency,
            updated=view["updated_at_wib"],
        )
    ]
    if view.get("next_step"):
        lines.append(texts["next"].format(step=view["next_step"]))
    if view.get("due_by"):
        lines.append(texts["due"].format(due=view["due_by"]))
    if view.get("secret"):
        lines.append(texts["secret"])
    return "\n".join(lines)
