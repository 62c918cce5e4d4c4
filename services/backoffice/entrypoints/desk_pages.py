"""The walk-in desk, /staff/meja (desk officers), over intake's desk API with the staff
assertion (intake records the staff id as the officer):

- /staff/meja: whether the desk is open now, its hours and today's queue
  (`GET /v1/walk-in/today`); a check-in form (`POST /v1/walk-in/check-ins`, then the queue
  number is shown) and the complaint form with the documents the citizen hands in, scanned
  (multipart, forwarded as it came to `POST /v1/walk-in/complaints/form`);
- /staff/meja/tanda-terima/{booking_code}: the printable receipt with the tracking code
  (`GET /v1/walk-in/receipts/{code}`), where a filed complaint leads.

Intake checks every field and document again and answers in the page's language; its
refusals are shown on the page with its status, what was typed stays in the form."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from schemas.regions import provinces, regencies
from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable, refusal
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers.signin import Session

DESK = "/staff/meja"
MAX_FILES = 6  # intake takes five; one more lets intake say "too many" in words
FIELDS = ("booking_code", "nik", "region_code", "address", "email", "description")
FLAGS = ("anonymous", "secret")
TITLES = {
    "desk": {"id": "Meja pengaduan", "en": "Walk-in desk"},
    "receipt": {"id": "Tanda terima", "en": "Receipt"},
}
WORDS = {
    "id": {
        "hours": "Jam layanan",
        "now": "Saat ini",
        "open": "buka",
        "closed": "tutup",
        "check_in": "Check-in",
        "booking_code": "Kode booking",
        "check_in_button": "Check-in dan beri nomor antrean",
        "queue_number": "Nomor antrean {number} untuk {name} ({code}).",
        "complaint": "Terima pengaduan",
        "nik": "NIK",
        "region": "Kabupaten / kota tempat masalah",
        "region_hint": "Tempat masalahnya, bukan alamat rumah pelapor. Kosong: menurut daerah NIK.",
        "region_placeholder": "Pilih kabupaten/kota",
        "address": "Alamat lokasi masalah (tidak wajib)",
        "email": "Email (tidak wajib)",
        "description": "Kronologi",
        "attachments": "Dokumen yang diserahkan (hasil pindai: PDF, JPG atau PNG; tidak wajib)",
        "choices": "Pilihan pelapor",
        "anonymous": "Anonim",
        "secret": "Rahasia",
        "file": "Simpan dan cetak tanda terima",
        "queue": "Antrean hari ini",
        "no": "No.",
        "name": "Nama",
        "tracking_code": "Nomor pelacakan",
        "empty_queue": "Belum ada kunjungan hari ini.",
        "refused": "Intake menolak (HTTP {status}): {reason}",
        "receipt_intro": "Pengaduan diterima dengan nomor pelacakan",
        "print": "Cetak halaman ini (Ctrl+P) untuk warga.",
        "back": "Kembali ke meja pengaduan",
    },
    "en": {
        "hours": "Opening hours",
        "now": "Now",
        "open": "open",
        "closed": "closed",
        "check_in": "Check-in",
        "booking_code": "Booking code",
        "check_in_button": "Check in and issue a queue number",
        "queue_number": "Queue number {number} for {name} ({code}).",
        "complaint": "Take a complaint",
        "nik": "NIK",
        "region": "Regency / city where the problem is",
        "region_hint": "Where the problem is, not the reporter's home. Empty: the NIK's region.",
        "region_placeholder": "Choose a regency/city",
        "address": "Address of the problem (optional)",
        "email": "Email (optional)",
        "description": "What happened",
        "attachments": "Documents handed in (scanned: PDF, JPG or PNG; optional)",
        "choices": "The reporter's choices",
        "anonymous": "Anonymous",
        "secret": "Secret",
        "file": "Save and print the receipt",
        "queue": "Today's queue",
        "no": "No.",
        "name": "Name",
        "tracking_code": "Tracking code",
        "empty_queue": "No visit yet today.",
        "refused": "Intake refused (HTTP {status}): {reason}",
        "receipt_intro": "Complaint received with the tracking code",
        "print": "Print this page (Ctrl+P) for the citizen.",
        "back": "Back to the walk-in desk",
    },
}


WEEKDAYS = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
ZONES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def opening_hours(today: dict[str, Any], lang: str) -> str:
    """Intake's opening days in the page's words: "Senin 08:00-14:00, ... (WIB)"."""
    days = ", ".join(
        f"{WEEKDAYS[lang][d['weekday']]} {d['opens']}-{d['closes']}"
        for d in today.get("opening_days", [])
    )
    zone = today.get("timezone", "")
    return f"{days} ({ZONES.get(zone, zone)})"


def region_choices() -> list[tuple[Any, list[Any]]]:
    """Every regency and city, grouped by province (the incident location's picker)."""
    return [
        (province, [r for r in regencies() if r.province == province]) for province in provinces()
    ]


def forwarded(form: FormData) -> tuple[dict[str, str], list[tuple[str, Any]]]:
    """The complaint form as intake's multipart form takes it: the fields, ticked flags as
    "1", and the chosen files (a file input left empty sends a nameless part: dropped)."""
    values = {name: value for name in FIELDS if isinstance(value := form.get(name), str)}
    values |= {flag: "1" for flag in FLAGS if form.get(flag) == "1"}
    files = [
        ("attachments", (item.filename, item.file, item.content_type or "application/octet-stream"))
        for item in form.getlist("attachments")
        if isinstance(item, UploadFile) and item.filename
    ]
    return values, files


async def _desk_page(
    access: Access,
    services: Services,
    request: Request,
    session: Session,
    status: int = 200,
    **ctx: Any,
) -> Response:
    lang = language(request)
    common = {"title": TITLES["desk"][lang], "w": WORDS[lang], "regions": region_choices()}
    try:
        answer = await services.intake.get(session.account.member(), "/v1/walk-in/today")
    except ServiceUnavailable:
        return access.page(
            request, "desk.html", session, status_code=503, unavailable="intake", **common
        )
    today = answer.json() if answer.status_code == 200 else None
    hours = opening_hours(today, lang) if today else None
    checked = request.query_params.get("antrean")
    queue = today["queue"] if today else []
    entry = next((e for e in queue if checked and e["booking_code"] == checked), None)
    return access.page(
        request,
        "desk.html",
        session,
        status_code=status,
        today=today,
        hours=hours,
        checked_in=entry,
        **common,
        **ctx,
    )


def desk_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    DeskOfficer = Annotated[Session, Depends(access.require(Role.DESK_OFFICER))]

    @router.get(DESK)
    async def desk(request: Request, session: DeskOfficer) -> Response:
        return await _desk_page(access, services, request, session)

    @router.post(DESK + "/check-in")
    async def check_in(request: Request, session: DeskOfficer) -> Response:
        form = await access.form(request)
        code = form.get("booking_code")
        code = code.strip()[:20] if isinstance(code, str) else ""
        try:
            answer = await services.intake.post(
                session.account.member(), "/v1/walk-in/check-ins", json={"booking_code": code}
            )
        except ServiceUnavailable:
            return await _desk_page(access, services, request, session, 503, unavailable="intake")
        if answer.status_code != 200:
            return await _refused(access, services, request, session, answer, checkin=code)
        target = f"{DESK}?antrean={answer.json()['booking_code']}"
        return RedirectResponse(with_lang(target, language(request)), status_code=303)

    @router.post(DESK + "/pengaduan")
    async def take_complaint(request: Request, session: DeskOfficer) -> Response:
        form = await access.form(request, max_files=MAX_FILES)
        values, files = forwarded(form)
        lang = language(request)
        try:
            answer = await services.intake.post(
                session.account.member(),
                "/v1/walk-in/complaints/form",
                params={"lang": lang},
                data=values,
                files=files or [("attachments", ("", b"", "application/octet-stream"))],
            )
        except ServiceUnavailable:
            return await _desk_page(
                access, services, request, session, 503, unavailable="intake", entered=values
            )
        if answer.status_code != 201:
            return await _refused(access, services, request, session, answer, entered=values)
        code = quote(values.get("booking_code", "").strip().upper(), safe="")
        target = f"{DESK}/tanda-terima/{code}"
        return RedirectResponse(with_lang(target, lang), status_code=303)

    @router.get(DESK + "/tanda-terima/{booking_code}")
    async def receipt(request: Request, booking_code: str, session: DeskOfficer) -> Response:
        lang = language(request)
        common = {"title": TITLES["receipt"][lang], "w": WORDS[lang]}
        try:
            answer = await services.intake.get(
                session.account.member(),
                f"/v1/walk-in/receipts/{quote(booking_code[:20], safe='')}",
            )
        except ServiceUnavailable:
            return access.page(
                request,
                "desk_receipt.html",
                session,
                status_code=503,
                unavailable="intake",
                **common,
            )
        if answer.status_code != 200:  # unknown, not today's, no complaint yet
            raise HTTPException(404)
        return access.page(request, "desk_receipt.html", session, receipt=answer.json(), **common)

    return router


async def _refused(
    access: Access,
    services: Services,
    request: Request,
    session: Session,
    answer: Any,
    **ctx: Any,
) -> Response:
    """The desk page again with intake's refusal in words, under intake's status."""
    words = WORDS[language(request)]
    error = words["refused"].format(status=answer.status_code, reason=refusal(answer))
    return await _desk_page(
        access, services, request, session, answer.status_code, error=error, **ctx
    )
