"""Setwapres' disposition, /staff/disposisi (disposition staff): the complaints no rule
routed (routing's manual queue, `GET /v1/disposition/cases`) each with an agency picker
(`GET /v1/agencies`) that disposes it (`POST /v1/desk/cases/{id}/dispose`); the cases a
citizen re-opened (`/v1/reopened`); every agency's overdue and escalated cases
(`/v1/escalations/overdue`); the SP4N-LAPOR! forwarding state (`/v1/sp4n/forwardings`).
Routing decides what the member may see and do; this page only shows and forwards."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

import asyncio
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable, refusal
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers.signin import Session

PATH = "/staff/disposisi"
TITLES = {"id": "Disposisi", "en": "Disposition"}
WORDS = {
    "id": {
        "queue": "Laporan tanpa aturan",
        "queue_caption": "{count} laporan menunggu instansi tujuan",
        "queue_empty": "Tidak ada laporan yang menunggu disposisi.",
        "code": "Nomor pelacakan",
        "status": "Status",
        "category": "Kategori",
        "region": "Wilayah",
        "summary": "Ringkasan",
        "received": "Diterima",
        "due": "Batas waktu",
        "agency": "Instansi tujuan",
        "agency_for": "Instansi tujuan untuk {code}",
        "choose": "Pilih instansi",
        "dispose": "Disposisikan",
        "reopened": "Dibuka kembali oleh pelapor",
        "reopened_empty": "Tidak ada kasus yang dibuka kembali.",
        "reopened_at": "Dibuka kembali",
        "refused_agency": "Jawaban ditolak dari",
        "score": "Nilai",
        "overdue": "Kasus terlambat di semua instansi",
        "overdue_empty": "Tidak ada kasus yang terlambat.",
        "deadline": "Tenggat",
        "level": "Eskalasi",
        "levels": {0: "belum", 1: "pimpinan instansi", 2: "Setwapres"},
        "sp4n": "Penerusan ke SP4N-LAPOR!",
        "sp4n_empty": "Belum ada penerusan ke SP4N-LAPOR!.",
        "round": "Putaran",
        "attempts": "Percobaan",
        "state": "Keadaan",
        "accepted": "Diterima SP4N ({remote})",
        "pending": "Menunggu; percobaan berikut {at}",
        "done": "Laporan {code} didisposisikan ke {agency}.",
        "refused": "Routing menolak: {reason}",
    },
    "en": {
        "queue": "Complaints no rule routed",
        "queue_caption": "{count} complaints waiting for an agency",
        "queue_empty": "No complaint waits for disposition.",
        "code": "Tracking code",
        "status": "Status",
        "category": "Category",
        "region": "Region",
        "summary": "Summary",
        "received": "Received",
        "due": "Due",
        "agency": "Agency",
        "agency_for": "Agency for {code}",
        "choose": "Choose an agency",
        "dispose": "Dispose",
        "reopened": "Re-opened by the citizen",
        "reopened_empty": "No re-opened case.",
        "reopened_at": "Re-opened",
        "refused_agency": "Response refused from",
        "score": "Score",
        "overdue": "Overdue cases across all agencies",
        "overdue_empty": "No overdue case.",
        "deadline": "Deadline",
        "level": "Escalation",
        "levels": {0: "not yet", 1: "agency's head", 2: "Setwapres"},
        "sp4n": "Forwarding to SP4N-LAPOR!",
        "sp4n_empty": "No forwarding to SP4N-LAPOR! yet.",
        "round": "Round",
        "attempts": "Attempts",
        "state": "State",
        "accepted": "Accepted by SP4N ({remote})",
        "pending": "Pending; next attempt {at}",
        "done": "Complaint {code} disposed to {agency}.",
        "refused": "Routing refused: {reason}",
    },
}
# What the page reads from routing, in order.
READS = (
    ("queue", "/v1/disposition/cases", {"limit": 200, "sort": "due"}),
    ("agencies", "/v1/agencies", {}),
    ("reopened", "/v1/reopened", {"limit": 100}),
    ("overdue", "/v1/escalations/overdue", {"limit": 200}),
    ("sp4n", "/v1/sp4n/forwardings", {"limit": 100}),
)


async def read_all(services: Services, session: Session) -> dict[str, Any]:
    """Routing's lists for the page (an answer that is not 200 reads as empty)."""
    member = session.account.member()
    answers = await asyncio.gather(
        *(services.routing.get(member, path, params=params) for _, path, params in READS)
    )
    found: dict[str, Any] = {}
    for (key, _, _), answer in zip(READS, answers, strict=True):
        body = answer.json() if answer.status_code == 200 else {}
        if key == "agencies":
            found[key] = body if isinstance(body, list) else []
        elif key == "sp4n":
            found[key] = body.get("forwardings", [])
        else:
            found[key] = body.get("cases", [])
    return found


def disposition_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    Disposer = Annotated[Session, Depends(access.require(Role.DISPOSITION))]

    async def page(request: Request, session: Session, status: int = 200, **ctx: Any) -> Response:
        lang = language(request)
        common = {"title": TITLES[lang], "d": WORDS[lang]}
        try:
            found = await read_all(services, session)
        except ServiceUnavailable:
            return access.page(
                request,
                "disposition.html",
                session,
                status_code=503,
                unavailable="routing",
                **common,
            )
        names = {a["agency_code"]: a["name"] for a in found["agencies"]}
        return access.page(
            request,
            "disposition.html",
            session,
            status_code=status,
            names=names,
            **found,
            **common,
            **ctx,
        )

    @router.get(PATH)
    async def disposition(request: Request, session: Disposer) -> Response:
        done = request.query_params.get("kode"), request.query_params.get("instansi")
        return await page(request, session, done=done if all(done) else None)

    @router.post(PATH + "/{case_id}")
    async def dispose(request: Request, case_id: uuid.UUID, session: Disposer) -> Response:
        form = await access.form(request)
        agency = str(form.get("agency_code") or "")[:64]
        code = str(form.get("tracking_code") or "")[:64]
        lang = language(request)
        try:
            answer = await services.routing.post(
                session.account.member(),
                f"/v1/desk/cases/{case_id}/dispose",
                json={"agency_code": agency},
            )
        except ServiceUnavailable:
            return await page(request, session, 503)
        if answer.status_code != 200:
            reason = WORDS[lang]["refused"].format(reason=refusal(answer))
            return await page(request, session, 422, error=reason)
        target = with_lang(f"{PATH}?{urlencode({'kode': code, 'instansi': agency})}", lang)
        return RedirectResponse(target, status_code=303)

    return router
