"""What every back-office page shares: the templates (one look, Bahasa Indonesia first,
English on ?lang=en), their texts, times in WIB and statuses in words (`domain.wording`).

Pages use no inline script or style, so the Content-Security-Policy forbids both. A page
helper renders with `render(request, "x.html", session=..., title=..., **context)`; the
base template draws the navigation from the member's roles (`domain.areas`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.backoffice.domain import wording
from services.backoffice.domain.areas import areas_for
from services.backoffice.handlers.signin import Session

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
TEMPLATES = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape())
STYLESHEET = (TEMPLATE_DIR / "backoffice.css").read_text()
TEMPLATES.filters["wib"] = wording.wib
TEMPLATES.globals["case_status"] = lambda key, lang: wording.words(wording.CASE_STATUSES, key, lang)
TEMPLATES.globals["role_name"] = lambda key, lang: wording.words(wording.ROLES, key, lang)
for _name, _table in (
    ("category_name", wording.CATEGORIES),
    ("review_action", wording.REVIEW_ACTIONS),
    ("review_status", wording.REVIEW_STATUSES),
    ("reason_name", wording.REASONS),
):
    TEMPLATES.globals[_name] = lambda key, lang, table=_table: wording.words(table, key, lang)

TEXTS: dict[str, dict[str, Any]] = {
    "id": {
        "site": "Lapor · Kantor belakang",
        "nav": "Navigasi",
        "home": "Beranda",
        "other_language": "English",
        "sign_in": "Masuk",
        "sign_out": "Keluar",
        "signed_in_as": "Masuk sebagai",
        "staff_id": "ID petugas",
        "password": "Kata sandi",
        "code": "Kode autentikator (6 angka, jika sudah diaktifkan)",
        "wrong": "ID, kata sandi atau kode salah.",
        "locked": "Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {minutes} menit.",
        "sign_in_intro": "Halaman ini khusus petugas. Masuk dengan akun Anda.",
        "sign_out_intro": "Keluar dari kantor belakang di perangkat ini?",
        "signed_out": "Anda sudah keluar.",
        "expired": "Sesi Anda berakhir. Silakan masuk lagi.",
        "home_intro": "Bagian yang dapat Anda gunakan:",
        "coming": "segera tersedia",
        "no_areas": "Akun Anda belum memiliki peran. Hubungi administrator.",
        "totp": "Kode autentikator",
        "totp_intro": (
            "Tambahkan akun ini ke aplikasi autentikator (Google Authenticator, Aegis, FreeOTP):"
            " ketik kunci rahasia di bawah atau buka tautan otpauth, lalu masukkan kode 6 angka"
            " dari aplikasi untuk mengaktifkan."
        ),
        "totp_required": "Administrator wajib memakai kode autentikator. Aktifkan dulu.",
        "totp_active": "Kode autentikator sudah aktif untuk akun Anda.",
        "totp_done": "Kode autentikator diaktifkan. Mulai sekarang, masuk memerlukan kode.",
        "totp_wrong": "Kode tidak cocok. Periksa jam ponsel Anda dan coba lagi.",
        "secret": "Kunci rahasia",
        "activate": "Aktifkan",
        "refused_title": "Formulir ditolak",
        "refused": (
            "Formulir ini kedaluwarsa atau tidak dikirim dari situs ini. Buka halamannya lagi"
            " lalu kirim ulang."
        ),
        "back": "Kembali",
        "not_found_title": "Halaman tidak ditemukan",
        "not_found": "Halaman ini tidak ada.",
        "unavailable": "Layanan {service} sedang tidak dapat dihubungi. Coba lagi nanti.",
        "areas": {
            "review": ("Antrean tinjauan", "Laporan yang menunggu keputusan peninjau."),
            "disposition": ("Disposisi", "Laporan tanpa aturan, kasus terlambat, SP4N-LAPOR!."),
            "agency_inbox": ("Kotak masuk instansi", "Kasus instansi Anda, urut batas waktu."),
            "supervisor": ("Pengawasan instansi", "Kasus terlambat dan pengalihan petugas."),
            "walk_in": ("Meja pengaduan", "Antrean dan laporan tatap muka."),
            "accounts": ("Akun petugas", "Buat, ubah peran, dan nonaktifkan akun."),
            "rules": ("Aturan routing", "Aturan dan versinya; mengubah membuat versi baru."),
            "agencies": ("Instansi", "Nama, kontak, eskalasi dan tenggat tiap instansi."),
            "calendar": ("Kalender", "Cuti bersama dan hari kerja pengganti."),
            "dead_letters": ("Pesan gagal", "Per layanan: lihat (tersamar) dan kirim ulang."),
            "open311": ("Aplikasi Open311", "Kunci API aplikasi warga: buat dan cabut."),
        },
    },
    "en": {
        "site": "Lapor · Back office",
        "nav": "Navigation",
        "home": "Home",
        "other_language": "Bahasa Indonesia",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "signed_in_as": "Signed in as",
        "staff_id": "Staff id",
        "password": "Password",
        "code": "Authenticator code (6 digits, once enabled)",
        "wrong": "Wrong id, password or code.",
        "locked": "Too many failed sign-in attempts. Try again in {minutes} minutes.",
        "sign_in_intro": "This page is for staff. Sign in with your account.",
        "sign_out_intro": "Sign out of the back office on this device?",
        "signed_out": "You have signed out.",
        "expired": "Your session ended. Please sign in again.",
        "home_intro": "The areas you may use:",
        "coming": "coming soon",
        "no_areas": "Your account has no role yet. Ask an administrator.",
        "totp": "Authenticator code",
        "totp_intro": (
            "Add this account to an authenticator app (Google Authenticator, Aegis, FreeOTP):"
            " type the secret key below or open the otpauth link, then enter the app's 6-digit"
            " code to turn it on."
        ),
        "totp_required": "Administrators must use an authenticator code. Turn it on first.",
        "totp_active": "Authenticator codes are on for your account.",
        "totp_done": "Authenticator codes are on. From now on, signing in needs a code.",
        "totp_wrong": "The code does not match. Check your phone's clock and try again.",
        "secret": "Secret key",
        "activate": "Turn on",
        "refused_title": "Form refused",
        "refused": "This form expired or was not sent from this site. Open the page again.",
        "back": "Back",
        "not_found_title": "Page not found",
        "not_found": "There is no such page.",
        "unavailable": "The {service} service cannot be reached now. Try again later.",
        "areas": {
            "review": ("Review queue", "Complaints waiting for a reviewer's decision."),
            "disposition": ("Disposition", "Unrouted complaints, overdue cases, SP4N-LAPOR!."),
            "agency_inbox": ("Agency inbox", "Your agency's cases, by due date."),
            "supervisor": ("Agency supervision", "Overdue cases and reassigning officers."),
            "walk_in": ("Walk-in desk", "Today's queue and walk-in complaints."),
            "accounts": ("Staff accounts", "Create accounts, set roles, disable."),
            "rules": ("Routing rules", "Rules and their versions; an edit is a new version."),
            "agencies": ("Agencies", "Each agency's name, contacts, escalation, deadline."),
            "calendar": ("Calendar", "Collective leave and declared working days."),
            "dead_letters": ("Dead letters", "Per service: show (masked) and replay."),
            "open311": ("Open311 applications", "Citizens' apps' API keys: issue and revoke."),
        },
    },
}


def language(request: Request, form_value: object = None) -> str:
    lang = form_value or request.query_params.get("lang")
    return "en" if lang == "en" else "id"


def with_lang(path: str, lang: str) -> str:
    """`path` in the page's language (Indonesian is the default and needs nothing)."""
    if lang != "en":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang=en"


def sign_in_url(next_path: str, lang: str = "id") -> str:
    return with_lang(f"/staff/masuk?next={quote(next_path, safe='/')}", lang)


def render(
    request: Request,
    template: str,
    *,
    session: Session | None = None,
    status_code: int = 200,
    texts: dict[str, Any] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render `template` (extending base.html) for the signed-in `session` (None: signed out)."""
    lang = language(request, context.pop("lang", None))
    member = session.account.member() if session else None
    page = TEMPLATES.get_template(template).render(
        lang=lang,
        other_lang="en" if lang == "id" else "id",
        t={**TEXTS[lang], **(texts or {})},
        account=session.account if session else None,
        areas=areas_for(member) if member else [],
        path=request.url.path,
        link=lambda path: with_lang(path, lang),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)
