"""The admin's agency pages (admins only), over routing's agency API:

- /staff/admin/instansi: the agency directory (`GET /v1/agencies`), narrowed by a GET form
  (words of the code or name, level), each agency linking to its page;
- /staff/admin/instansi/{agency_code}: what routing keeps for the agency
  (`GET /v1/agencies/{code}`) as a form: name, SP4N-LAPOR! forwarding, intake method,
  contact email and phone, supervisor and escalation email, response window; saving calls
  `PUT /v1/agencies/{code}`, and routing's refusals (422) are shown with what was typed.

The code, level and region are shown, not edited: rules and regions find agencies by them.
Routing checks the member's role again."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable, refusal
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers.signin import Session

AGENCIES = "/staff/admin/instansi"
AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{1,40}")  # routing's pattern
LEVELS = ("desk", "national", "province", "regency")
METHODS = ("sp4n", "email", "letter", "desk")
TEXT_FIELDS = ("name", "contact_email", "contact_phone", "supervisor", "supervisor_email")
TITLES = {
    "agencies": {"id": "Instansi", "en": "Agencies"},
    "agency": {"id": "Instansi {code}", "en": "Agency {code}"},
}
WORDS = {
    "id": {
        "code": "Kode",
        "name": "Nama",
        "level": "Tingkat",
        "region": "Wilayah",
        "method": "Cara menerima pengaduan",
        "levels": {
            "desk": "Meja Setwapres",
            "national": "Nasional",
            "province": "Provinsi",
            "regency": "Kabupaten/kota",
        },
        "methods": {"sp4n": "SP4N-LAPOR!", "email": "Email", "letter": "Surat", "desk": "Meja"},
        "any": "semua",
        "search": "Cari kode atau nama",
        "filter": "Saring",
        "shown": "{shown} dari {total} instansi",
        "none": "Tidak ada instansi yang cocok.",
        "via_sp4n": "Diteruskan juga ke SP4N-LAPOR!",
        "contact_email": "Email pengaduan",
        "contact_phone": "Telepon pengaduan",
        "supervisor": "Atasan (eskalasi tingkat 1)",
        "supervisor_hint": "Kosong: Pimpinan instansi.",
        "supervisor_email": "Email eskalasi",
        "supervisor_email_hint": "Kosong: eskalasi tidak dikirim lewat email.",
        "days": "Batas tanggapan (hari kerja)",
        "fixed": "Kode, tingkat dan wilayah tidak diubah di sini: aturan dan wilayah memakainya.",
        "save": "Simpan",
        "saved": "Perubahan disimpan; berlaku untuk kasus baru.",
        "refused": "Routing menolak: {reason}",
        "back": "Kembali ke daftar instansi",
    },
    "en": {
        "code": "Code",
        "name": "Name",
        "level": "Level",
        "region": "Region",
        "method": "How it takes complaints",
        "levels": {
            "desk": "Setwapres desk",
            "national": "National",
            "province": "Province",
            "regency": "Regency/city",
        },
        "methods": {"sp4n": "SP4N-LAPOR!", "email": "Email", "letter": "Letter", "desk": "Desk"},
        "any": "any",
        "search": "Search code or name",
        "filter": "Filter",
        "shown": "{shown} of {total} agencies",
        "none": "No agency matches.",
        "via_sp4n": "Also forwarded to SP4N-LAPOR!",
        "contact_email": "Complaints email",
        "contact_phone": "Complaints phone",
        "supervisor": "Supervisor (level-1 escalation)",
        "supervisor_hint": "Empty: the agency's head.",
        "supervisor_email": "Escalation email",
        "supervisor_email_hint": "Empty: escalations are not emailed.",
        "days": "Response window (working days)",
        "fixed": "Code, level and region are not changed here: rules and regions use them.",
        "save": "Save",
        "saved": "Saved; new cases use it.",
        "refused": "Routing refused: {reason}",
        "back": "Back to the agencies",
    },
}


def narrowed(agencies: list[dict[str, Any]], words: str, level: str) -> list[dict[str, Any]]:
    """The agencies whose code or name holds every word (any case) and of `level` (empty:
    every level)."""
    terms = words.lower().split()
    return [
        a
        for a in agencies
        if (not level or a["level"] == level)
        and all(term in f"{a['agency_code']} {a['name']}".lower() for term in terms)
    ]


def agency_body(form: FormData) -> dict[str, Any]:
    """The form as routing's AgencyEdit (empty text: None; a window that is no number is
    sent as typed, for routing to refuse)."""

    def text(name: str, limit: int = 300) -> str | None:
        value = form.get(name)
        return (value.strip()[:limit] or None) if isinstance(value, str) else None

    days = text("response_working_days", 6) or ""
    return {
        **{name: text(name) for name in TEXT_FIELDS},
        "via_sp4n": form.get("via_sp4n") == "1",
        "intake_method": text("intake_method", 16),
        "response_working_days": int(days) if days.isdigit() else days,
    }


def agencies_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    AdminSession = Annotated[Session, Depends(access.require(Role.ADMIN))]

    @router.get(AGENCIES)
    async def agencies(request: Request, session: AdminSession) -> Response:
        lang = language(request)
        query = request.query_params
        words, level = query.get("q", "")[:100], query.get("tingkat", "")
        level = level if level in LEVELS else ""
        common = {"title": TITLES["agencies"][lang], "w": WORDS[lang], "levels": LEVELS}
        try:
            answer = await services.routing.get(session.account.member(), "/v1/agencies")
        except ServiceUnavailable:
            return access.page(
                request, "agencies.html", session, status_code=503, unavailable="routing", **common
            )
        found = answer.json() if answer.status_code == 200 else []
        shown = narrowed(found, words, level)
        return access.page(
            request,
            "agencies.html",
            session,
            agencies=shown,
            total=len(found),
            q=words,
            level=level,
            **common,
        )

    @router.get(AGENCIES + "/{agency_code}")
    async def agency(request: Request, agency_code: str, session: AdminSession) -> Response:
        saved = request.query_params.get("disimpan") == "1"
        return await _agency_page(access, services, request, session, agency_code, saved=saved)

    @router.post(AGENCIES + "/{agency_code}")
    async def edit(request: Request, agency_code: str, session: AdminSession) -> Response:
        if not AGENCY_CODE.fullmatch(agency_code):
            raise HTTPException(404)
        form = await access.form(request)
        lang = language(request)
        body = agency_body(form)
        try:
            answer = await services.routing.put(
                session.account.member(), f"/v1/agencies/{agency_code}", json=body
            )
        except ServiceUnavailable:
            return await _agency_page(access, services, request, session, agency_code, 503)
        if answer.status_code == 404:
            raise HTTPException(404)
        if answer.status_code != 200:
            error = WORDS[lang]["refused"].format(reason=refusal(answer))
            return await _agency_page(
                access, services, request, session, agency_code, 422, error=error, entered=body
            )
        target = with_lang(f"{AGENCIES}/{agency_code}?disimpan=1", lang)
        return RedirectResponse(target, status_code=303)

    return router


async def _agency_page(
    access: Access,
    services: Services,
    request: Request,
    session: Session,
    agency_code: str,
    status: int = 200,
    **ctx: Any,
) -> Response:
    if not AGENCY_CODE.fullmatch(agency_code):
        raise HTTPException(404)
    lang = language(request)
    common = {
        "title": TITLES["agency"][lang].format(code=agency_code),
        "w": WORDS[lang],
        "methods": METHODS,
    }
    try:
        answer = await services.routing.get(session.account.member(), f"/v1/agencies/{agency_code}")
    except ServiceUnavailable:
        return access.page(
            request, "agency.html", session, status_code=503, unavailable="routing", **common
        )
    if answer.status_code != 200:
        raise HTTPException(404)
    agency = answer.json()
    shown = {**agency, **ctx.pop("entered", {})}  # what was typed, over what is stored
    return access.page(
        request,
        "agency.html",
        session,
        status_code=status,
        agency=agency,
        shown=shown,
        **common,
        **ctx,
    )
