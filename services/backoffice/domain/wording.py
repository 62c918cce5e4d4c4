"""How the back office writes times and statuses for people, pure: times in WIB
(Asia/Jakarta), never UTC; case statuses and roles in words, never their ids."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
_MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
CASE_STATUSES = {
    "assigned": {"id": "Baru diteruskan", "en": "Newly assigned"},
    "in_progress": {"id": "Sedang ditangani", "en": "In progress"},
    "awaiting_documents": {"id": "Menunggu dokumen pelapor", "en": "Awaiting documents"},
    "responded": {"id": "Sudah ditanggapi", "en": "Responded"},
    "not_in_remit": {"id": "Bukan wewenang", "en": "Not in remit"},
    "closed": {"id": "Selesai", "en": "Closed"},
    "reopened": {"id": "Dibuka kembali", "en": "Reopened"},
}
ROLES = {
    "reviewer": {"id": "Peninjau", "en": "Reviewer"},
    "disposition": {"id": "Disposisi Setwapres", "en": "Setwapres disposition"},
    "admin": {"id": "Administrator", "en": "Administrator"},
    "agency_officer": {"id": "Petugas instansi", "en": "Agency officer"},
    "agency_supervisor": {"id": "Supervisor instansi", "en": "Agency supervisor"},
    "desk_officer": {"id": "Petugas meja pengaduan", "en": "Walk-in desk officer"},
}


def wib(moment: datetime | str | None, lang: str = "id") -> str:
    """`7 Des 2026 09.30 WIB` / `7 Dec 2026 09:30 WIB`; ISO strings (from JSON) are read."""
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(JAKARTA)
    separator = "." if lang == "id" else ":"
    month = _MONTHS["en" if lang == "en" else "id"][local.month - 1]
    return f"{local.day} {month} {local.year} {local.hour:02d}{separator}{local.minute:02d} WIB"


def words(table: dict[str, dict[str, str]], key: str, lang: str = "id") -> str:
    """The words for `key`; an id newer than the table reads as itself, never an error."""
    entry = table.get(key)
    return entry["en" if lang == "en" else "id"] if entry else key.replace("_", " ")
