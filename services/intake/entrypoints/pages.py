"""What the citizen's and the desk's HTML pages share: the templates (Bahasa Indonesia first,
English on ?lang=en), their texts, field-by-field error messages, and reading uploads.

The pages use no inline script or style, so the Content-Security-Policy can forbid both.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from schemas.events import Attachment, Language
from schemas.regions import Province, Regency, provinces, regencies
from services.intake.domain.documents import (
    DocumentRefused,
    check_count,
    checked_document,
    refusal_text,
)
from services.intake.entrypoints.api_models import COORDINATES_PAIR, UNKNOWN_REGION
from services.intake.settings import IntakeSettings

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
TEMPLATES = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
)
STYLESHEET = (TEMPLATE_DIR / "lapor.css").read_text()

TEXT_FIELDS = (
    "name",
    "nik",
    "phone",
    "email",
    "region_code",
    "address",
    "latitude",
    "longitude",
    "description",
)
# The incident location's fields (the form's "where is the problem" section).
PLACE_FIELDS = ("region_code", "address", "latitude", "longitude")
FLAGS = ("anonymous", "secret", "in_court", "filed_before")

LABELS = {
    "id": {
        "name": "Nama lengkap",
        "nik": "NIK",
        "phone": "Nomor HP / WhatsApp",
        "email": "Email",
        "place": "Lokasi masalah",
        "region_code": "Kabupaten / kota tempat masalah",
        "address": "Alamat lokasi (tidak wajib)",
        "latitude": "Garis lintang (tidak wajib)",
        "longitude": "Garis bujur (tidak wajib)",
        "description": "Kronologi",
        "attachments": "Dokumen pendukung",
        "anonymous": "Anonim: identitas saya tidak diperlihatkan kepada instansi",
        "secret": "Rahasia: isi laporan tidak ditampilkan untuk publik",
        "in_court": "Masalah ini sedang atau pernah diproses di pengadilan",
        "filed_before": "Saya sudah pernah melaporkan masalah ini ke sini",
        "code": "Nomor pelacakan",
        "form": "Formulir",
    },
    "en": {
        "name": "Full name",
        "nik": "NIK",
        "phone": "Mobile / WhatsApp number",
        "email": "Email",
        "place": "Where is the problem",
        "region_code": "Regency or city where the problem is",
        "address": "Street address of the place (optional)",
        "latitude": "Latitude (optional)",
        "longitude": "Longitude (optional)",
        "description": "What happened",
        "attachments": "Supporting documents",
        "anonymous": "Anonymous: my identity is not shown to the agency",
        "secret": "Secret: the content is never shown in public",
        "in_court": "This matter is or was before a court",
        "filed_before": "I have reported this matter here before",
        "code": "Tracking code",
        "form": "Form",
    },
}
TEXTS: dict[str, dict[str, Any]] = {
    "id": {
        "nav": "Navigasi",
        "form_link": "Buat laporan",
        "status_link": "Cek status laporan",
        "update_link": "Tambah dokumen",
        "other_language": "English",
        "form_title": "Sampaikan laporan Anda",
        "form_intro": (
            "Isi formulir ini untuk melapor kepada Sekretariat Wakil Presiden. Kolom bertanda"
            " wajib harus diisi; nomor HP atau email diperlukan agar kami bisa menghubungi Anda."
        ),
        "error_summary": "Ada yang perlu diperbaiki",
        "options": "Pilihan pelapor dan kelayakan",
        "choose_region": "Pilih kabupaten/kota",
        "submit": "Kirim laporan",
        "hints": {
            "name": "Wajib. Sesuai KTP.",
            "nik": "Wajib. 16 angka pada KTP.",
            "phone": "Contoh: 0812-3456-7890. Isi nomor HP atau email.",
            "email": "Contoh: nama@contoh.id",
            "place": "Tempat masalahnya terjadi, bukan alamat rumah Anda: laporan diteruskan"
            " ke pemerintah daerah tempat itu.",
            "region_code": "Dikelompokkan per provinsi. Jika dikosongkan, laporan diteruskan"
            " menurut daerah pada NIK Anda.",
            "address": "Jalan, RT/RW, kelurahan.",
            "latitude": "Dari peta di ponsel, contoh: -6.9147",
            "longitude": "Contoh: 107.6098",
            "description": "Wajib, minimal 20 huruf: apa yang terjadi, kapan, di mana, siapa.",
            "attachments": "PDF, JPG atau PNG; paling banyak {count} berkas, masing-masing"
            " maksimal {mb} MB. Dokumen masih bisa menyusul dalam 10 hari.",
        },
        "receipt_title": "Laporan Anda sudah kami terima",
        "receipt_intro": "Terima kasih. Nomor pelacakan laporan Anda:",
        "receipt_keep": "Simpan nomor ini untuk memantau status dan menambah dokumen.",
        "status_title": "Cek status laporan",
        "look_up": "Cari",
        "current_status": "Status",
        "agency": "Instansi",
        "updated": "Diperbarui",
        "next_step": "Langkah berikutnya",
        "due_by": "Batas waktu",
        "timeline": "Riwayat laporan",
        "secret_note": "Laporan ini rahasia: hanya status dan langkahnya yang ditampilkan.",
        "not_found": "Tidak ada laporan dengan nomor ini.",
        "rate_title": "Penilaian penanganan laporan",
        "rate_intro": (
            "Laporan Anda sudah selesai. Apakah Anda puas dengan penanganannya? Jawaban TIDAK"
            " PUAS dalam 10 hari setelah selesai dapat membuka kembali laporan untuk ditinjau"
            " ulang oleh Setwapres; bila dibuka kembali, kami kabari Anda."
        ),
        "rate_link": "Beri penilaian",
        "rate_answer": "Penilaian Anda",
        "rate_satisfied": "PUAS",
        "rate_not_satisfied": "TIDAK PUAS",
        "rate_score": "Nilai 1 sampai 5 (boleh dikosongkan)",
        "rate_submit": "Kirim penilaian",
        "rate_choose": "Pilih PUAS atau TIDAK PUAS.",
        "rate_done": "Terima kasih, penilaian Anda sudah kami catat.",
        "rate_already": "Penilaian Anda untuk laporan ini sudah tercatat sebelumnya. Terima kasih.",
        "rate_not_open": "Laporan ini belum selesai, atau batas 10 hari untuk menilai sudah lewat.",
        "update_title": "Tambah keterangan atau dokumen",
        "update_intro": (
            "Dokumen yang kurang bisa menyusul dalam 10 hari sejak laporan dibuat. Buktikan"
            " bahwa ini laporan Anda dengan nomor HP yang terdaftar atau kode sekali pakai."
        ),
        "update_labels": {
            "kode": "Nomor pelacakan",
            "phone": "Nomor HP yang terdaftar",
            "one_time_code": "atau kode sekali pakai (6 angka)",
            "additional_text": "Keterangan tambahan",
        },
        "update_submit": "Kirim tambahan",
        "update_done": "Tambahan Anda sudah kami terima dan diteruskan bersama laporan.",
        "update_empty": "Tulis keterangan atau lampirkan dokumen.",
        "proof_missing": "Isi nomor HP yang terdaftar atau kode sekali pakai.",
        "refused_title": "Formulir tidak dapat diterima",
        "form_reused": "Formulir ini sudah terkirim dengan isi lain; periksa dan kirim lagi.",
        "refused": (
            "Formulir ini sudah kedaluwarsa atau tidak dikirim dari situs ini. Isian Anda belum"
            " kami simpan: buka formulirnya lagi lalu kirim ulang."
        ),
        "refused_back": "Buka formulir lagi",
        "too_many": (
            "Sudah terlalu banyak laporan dari nomor HP atau NIK ini dalam satu jam terakhir."
            " Coba lagi dalam {minutes} menit."
        ),
    },
    "en": {
        "nav": "Navigation",
        "form_link": "File a report",
        "status_link": "Check a report's status",
        "update_link": "Add documents",
        "other_language": "Bahasa Indonesia",
        "form_title": "File your report",
        "form_intro": (
            "Use this form to report to the Vice President's Secretariat. Required fields are"
            " marked; a phone number or email lets us reach you."
        ),
        "error_summary": "Please correct the following",
        "options": "Reporter options and eligibility",
        "choose_region": "Choose a regency or city",
        "submit": "Send report",
        "hints": {
            "name": "Required. As on your KTP.",
            "nik": "Required. The 16 digits on your KTP.",
            "phone": "E.g. 0812-3456-7890. Give a phone number or an email.",
            "email": "E.g. name@example.id",
            "place": "Where the problem happened, not your home address: the report goes to"
            " that place's regional government.",
            "region_code": "Grouped by province. If left empty, the report goes by the region"
            " in your NIK.",
            "address": "Street, RT/RW, village.",
            "latitude": "From a phone's map, e.g. -6.9147",
            "longitude": "E.g. 107.6098",
            "description": "Required, at least 20 characters: what, when, where, who.",
            "attachments": "PDF, JPG or PNG; at most {count} files of {mb} MB each. Documents"
            " may follow within 10 days.",
        },
        "receipt_title": "We have received your report",
        "receipt_intro": "Thank you. Your tracking code:",
        "receipt_keep": "Keep this code to follow your report and add documents.",
        "status_title": "Check a report's status",
        "look_up": "Look up",
        "current_status": "Status",
        "agency": "Agency",
        "updated": "Updated",
        "next_step": "What happens next",
        "due_by": "Due",
        "timeline": "History",
        "secret_note": "This report is secret: only its status and steps are shown.",
        "not_found": "No report has this code.",
        "rate_title": "Rate how your report was handled",
        "rate_intro": (
            "Your report is closed. Are you satisfied with how it was handled? NOT SATISFIED"
            " within 10 days of closing may re-open the report for Setwapres to look at again;"
            " if it is re-opened, we will tell you."
        ),
        "rate_link": "Rate it",
        "rate_answer": "Your answer",
        "rate_satisfied": "SATISFIED",
        "rate_not_satisfied": "NOT SATISFIED",
        "rate_score": "A score from 1 to 5 (optional)",
        "rate_submit": "Send my rating",
        "rate_choose": "Choose SATISFIED or NOT SATISFIED.",
        "rate_done": "Thank you, your rating has been recorded.",
        "rate_already": "Your rating of this report was already recorded. Thank you.",
        "rate_not_open": "This report is not closed, or the 10 days to rate it have passed.",
        "update_title": "Add information or documents",
        "update_intro": (
            "Missing documents may follow within 10 days of the report. Prove the report is"
            " yours with the phone number on file or a one-time code."
        ),
        "update_labels": {
            "kode": "Tracking code",
            "phone": "Phone number on file",
            "one_time_code": "or one-time code (6 digits)",
            "additional_text": "Additional information",
        },
        "update_submit": "Send addition",
        "update_done": "We have received your addition; it travels with your report.",
        "update_empty": "Write something or attach a document.",
        "proof_missing": "Give the phone number on file or a one-time code.",
        "refused_title": "This form cannot be accepted",
        "form_reused": "This form was already sent with other content; check and send again.",
        "refused": (
            "This form has expired or was not sent from this site. Nothing was saved: open"
            " the form again and send it once more."
        ),
        "refused_back": "Open the form again",
        "too_many": (
            "Too many reports from this phone number or NIK in the last hour. Try again in"
            " {minutes} minutes."
        ),
    },
}
# Bahasa Indonesia for the validation messages the edge checks produce.
INDONESIAN_ERRORS = {
    "NIK must be exactly 16 digits": "NIK harus tepat 16 angka.",
    "NIK province code (digits 1-2) does not exist": "Kode provinsi NIK (angka 1-2) tidak ada.",
    "NIK regency code (digits 3-4) cannot be 00": "Kode kabupaten/kota NIK (angka 3-4) tidak"
    " boleh 00.",
    "NIK birth date (digits 7-12) is not a real date": "Tanggal lahir pada NIK (angka 7-12)"
    " tidak valid.",
    "NIK serial (digits 13-16) starts at 0001": "Nomor urut NIK (angka 13-16) dimulai dari 0001.",
    "phone number cannot be read": "Nomor HP tidak terbaca.",
    "phone number is not a valid number": "Nomor HP tidak valid.",
    "email address is not valid": "Alamat email tidak valid.",
    "give a phone number or an email address so we can reach you": "Isi nomor HP atau email"
    " agar kami bisa menghubungi Anda.",
    UNKNOWN_REGION: "Pilih kabupaten/kota dari daftar.",
    COORDINATES_PAIR: "Isi garis lintang dan garis bujur, atau kosongkan keduanya.",
}
TYPE_ERRORS = {
    "id": {
        "missing": "Wajib diisi.",
        "string_too_short": "Terlalu pendek (minimal {min_length} huruf).",
        "string_too_long": "Terlalu panjang (maksimal {max_length} huruf).",
        "float_parsing": "Harus berupa angka, contoh: -6.9147.",
        "greater_than_equal": "Paling kecil {ge}.",
        "less_than_equal": "Paling besar {le}.",
        "string_pattern_mismatch": INDONESIAN_ERRORS[UNKNOWN_REGION],
    },
    "en": {
        "missing": "Required.",
        "string_too_short": "Too short (at least {min_length} characters).",
        "string_too_long": "Too long (at most {max_length} characters).",
        "float_parsing": "Must be a number, e.g. -6.9147.",
        "greater_than_equal": "At least {ge}.",
        "less_than_equal": "At most {le}.",
        "string_pattern_mismatch": UNKNOWN_REGION,
    },
}


@functools.cache
def region_choices() -> tuple[tuple[Province, tuple[Regency, ...]], ...]:
    """Every regency and city, grouped by province: the incident location's choices."""
    return tuple(
        (province, tuple(r for r in regencies() if r.province == province))
        for province in provinces()
    )


def language(request: Request, form_value: object = None) -> str:
    lang = form_value or request.query_params.get("lang")
    return "en" if lang == "en" else "id"


def render(
    template: str,
    lang: str,
    status_code: int = 200,
    texts: dict[str, Any] | None = None,
    **context: Any,
) -> HTMLResponse:
    texts = {**TEXTS[lang], "labels": LABELS[lang], **(texts or {})}
    page = TEMPLATES.get_template(template).render(
        lang=lang, other_lang="en" if lang == "id" else "id", t=texts, **context
    )
    return HTMLResponse(page, status_code=status_code)


def field_errors(error: ValidationError, lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        loc = item["loc"]
        if loc and loc[0] == "location":  # the incident location's fields, or its pair check
            loc = loc[1:] or ("latitude",)
        field = str(loc[0]) if loc else "phone"  # the model-level check
        if field not in TEXT_FIELDS:
            field = "phone"
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] in TYPE_ERRORS[lang]:
            message = TYPE_ERRORS[lang][item["type"]].format(**(item.get("ctx") or {}))
        elif lang == "id":
            message = INDONESIAN_ERRORS.get(message, message)
        errors.setdefault(field, message)
    return errors


def uploaded_files(form: FormData) -> list[UploadFile]:
    """The form's `attachments` files (starlette's UploadFile: what `request.form()` gives)."""
    return [item for item in form.getlist("attachments") if isinstance(item, UploadFile)]


async def read_uploads(
    files: list[UploadFile], settings: IntakeSettings, lang: str
) -> tuple[list[tuple[Attachment, bytes]], str | None]:
    """The uploads as attachments (type sniffed from the content, size, sha256), or the
    reason they are refused, in the page's language (`domain.documents`)."""
    files = [file for file in files if file.filename]
    uploads: list[tuple[Attachment, bytes]] = []
    try:
        check_count(len(files), settings.max_attachments)
        for file in files:
            data = await file.read(settings.max_attachment_bytes + 1)
            attachment = checked_document(
                data, max_bytes=settings.max_attachment_bytes, filename=file.filename
            )
            uploads.append((attachment, data))
    except DocumentRefused as refused:
        return [], refusal_text(
            refused,
            Language(lang),
            max_bytes=settings.max_attachment_bytes,
            max_count=settings.max_attachments,
        )
    return uploads, None


def refused_page(lang: str, back: str) -> HTMLResponse:
    """A form POST whose CSRF token does not match its cookie."""
    return render("refused.html", lang, 403, title=TEXTS[lang]["refused_title"], back=back)


def uploads_fingerprint(text: str, uploads: list[tuple[Attachment, bytes]]) -> str:
    """What makes a resent form the same request: its content and its files."""
    return hashlib.sha256(
        (text + "".join(a.attachment_id for a, _ in uploads)).encode()
    ).hexdigest()
