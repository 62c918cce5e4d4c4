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


CATEGORIES = {
    "land": {"id": "Pertanahan", "en": "Land"},
    "education": {"id": "Pendidikan", "en": "Education"},
    "health": {"id": "Kesehatan", "en": "Health"},
    "social_assistance": {"id": "Bantuan sosial", "en": "Social assistance"},
    "infrastructure": {"id": "Infrastruktur", "en": "Infrastructure"},
    "population_administration": {"id": "Administrasi kependudukan", "en": "Civil registry"},
    "employment": {"id": "Ketenagakerjaan", "en": "Employment"},
    "corruption": {"id": "Korupsi dan pungli", "en": "Corruption and extortion"},
    "public_order": {"id": "Ketertiban umum", "en": "Public order"},
    "environment": {"id": "Lingkungan hidup", "en": "Environment"},
    "utilities": {"id": "Listrik, air, gas", "en": "Utilities"},
    "other": {"id": "Lainnya", "en": "Other"},
}
# What a reviewer did (triage's `review_log.action`) and what became of an item.
REVIEW_ACTIONS = {
    "claim": {"id": "Mengambil", "en": "Claimed"},
    "accept": {"id": "Menerima", "en": "Accepted"},
    "reject": {"id": "Menolak", "en": "Rejected"},
    "duplicate": {"id": "Menandai duplikat", "en": "Marked duplicate"},
    "ban": {"id": "Memblokir pelapor", "en": "Banned the reporter"},
    "unban": {"id": "Membuka blokir", "en": "Lifted a ban"},
}
REVIEW_STATUSES = {
    "open": {"id": "Menunggu", "en": "Waiting"},
    "claimed": {"id": "Sedang ditinjau", "en": "Being reviewed"},
    "decided": {"id": "Sudah diputuskan", "en": "Decided"},
}
# Triage's reason codes (services/triage/domain/rules.py) and a reviewer's rejection reasons.
REASONS = {
    "test_or_greeting": {"id": "Uji coba atau salam", "en": "Test or greeting"},
    "gibberish": {"id": "Teks acak", "en": "Gibberish"},
    "description_too_short": {"id": "Uraian terlalu pendek", "en": "Description too short"},
    "prank_phrase": {"id": "Frasa iseng", "en": "Prank phrase"},
    "profanity": {"id": "Kata kasar", "en": "Profanity"},
    "nik_missing": {"id": "NIK tidak ada", "en": "NIK missing"},
    "nik_invalid": {"id": "NIK tidak sah", "en": "NIK invalid"},
    "contact_missing": {"id": "Kontak tidak ada", "en": "Contact missing"},
    "phone_invalid": {"id": "Nomor HP tidak sah", "en": "Phone number invalid"},
    "in_court": {"id": "Sedang/pernah di pengadilan", "en": "Before a court"},
    "filed_before": {"id": "Pernah dilaporkan", "en": "Filed before"},
    "not_directly_affected": {"id": "Bukan pihak langsung", "en": "Not directly affected"},
    "reporter_banned": {"id": "Pelapor diblokir", "en": "Reporter banned"},
    "rate_limited": {"id": "Terlalu banyak laporan sehari", "en": "Too many reports a day"},
    "not_a_complaint": {"id": "Bukan pengaduan", "en": "Not a complaint"},
    "insufficient_information": {"id": "Informasi kurang", "en": "Not enough information"},
    "abusive": {"id": "Isi tidak pantas", "en": "Abusive content"},
    "other": {"id": "Alasan lain", "en": "Other reason"},
}
# The reasons a reviewer may reject with (the note says the rest, for the citizen).
REJECT_REASONS = ("not_a_complaint", "insufficient_information", "abusive", "in_court", "other")
