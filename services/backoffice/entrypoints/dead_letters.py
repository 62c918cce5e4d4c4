"""The admin's dead letters, /staff/admin/pesan-gagal (admins only): what `lapor dlq` does,
per service, over the dead-letter API every service serves (services.runtime.dead_letters;
triage's on its faust web server): /staff/admin/pesan-gagal/{service} lists the letters
(`GET /v1/dead-letters`), .../{offset} shows one with personal data masked (as the service
masks it), and a replay form with "I am sure" sends chosen letters back to their source
topics (`POST /v1/dead-letters/replay`)."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from schemas.staff import Role
from services.backoffice.adapters.services import (
    ServiceClient,
    Services,
    ServiceUnavailable,
    refusal,
)
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers.signin import Session

PATH = "/staff/admin/pesan-gagal"
SERVICES = ("intake", "triage", "routing", "notifier")
TITLES = {"id": "Pesan gagal (dead letters)", "en": "Dead letters"}
WORDS = {
    "id": {
        "intro": "Pesan yang gagal diproses, per layanan. Data pribadi disamarkan.",
        "service": "Layanan",
        "caption": "{count} pesan gagal di {service}",
        "empty": "Tidak ada pesan gagal di {service}.",
        "offset": "Offset",
        "at": "Waktu",
        "source": "Asal",
        "reason": "Alasan",
        "size": "Ukuran (bita)",
        "choose": "Pilih {offset}",
        "show": "Lihat",
        "headers": "Header",
        "payload": "Isi (data pribadi disamarkan)",
        "replay": "Kirim ulang ke topik asal",
        "replay_hint": "Kirim ulang hanya setelah penyebabnya diperbaiki. Aman diulang.",
        "sure": "Saya yakin",
        "not_sure": 'Pilih pesan dan centang "Saya yakin" untuk mengirim ulang.',
        "replayed": "Dikirim ulang: {replayed}. Tidak ditemukan: {missing}.",
        "refused": "{service} menolak: {reason}",
    },
    "en": {
        "intro": "Messages that failed processing, per service. Personal data is masked.",
        "service": "Service",
        "caption": "{count} dead letters in {service}",
        "empty": "No dead letter in {service}.",
        "offset": "Offset",
        "at": "At",
        "source": "Source",
        "reason": "Reason",
        "size": "Size (bytes)",
        "choose": "Choose {offset}",
        "show": "Show",
        "headers": "Headers",
        "payload": "Content (personal data masked)",
        "replay": "Replay to the source topic",
        "replay_hint": "Replay only once the cause is fixed. Safe to repeat.",
        "sure": "I am sure",
        "not_sure": 'Choose letters and tick "I am sure" to replay.',
        "replayed": "Replayed: {replayed}. Not found: {missing}.",
        "refused": "{service} refused: {reason}",
    },
}


def _client(services: Services, service: str) -> ServiceClient:
    if service not in SERVICES:
        raise HTTPException(404)
    return services.clients[service]


def _render(
    access: Access, request: Request, session: Session, status: int = 200, **ctx: Any
) -> Response:
    lang = language(request)
    return access.page(
        request,
        "dead_letters.html",
        session,
        status_code=status,
        title=TITLES[lang],
        services=SERVICES,
        x=WORDS[lang],
        **ctx,
    )


async def _listing(
    access: Access,
    services: Services,
    request: Request,
    session: Session,
    service: str,
    status: int = 200,
    **ctx: Any,
) -> Response:
    try:
        answer = await _client(services, service).get(session.account.member(), "/v1/dead-letters")
    except ServiceUnavailable:
        return _render(access, request, session, 503, service=service, unavailable=service)
    if answer.status_code != 200:
        reason = WORDS[language(request)]["refused"]
        error = reason.format(service=service, reason=refusal(answer))
        return _render(access, request, session, 502, service=service, error=error)
    letters = answer.json().get("letters", [])
    return _render(access, request, session, status, service=service, letters=letters, **ctx)


def dead_letters_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    AdminSession = Annotated[Session, Depends(access.require(Role.ADMIN))]

    @router.get(PATH)
    async def choose(request: Request, session: AdminSession) -> Response:
        return _render(access, request, session)

    @router.get(PATH + "/{service}")
    async def letters(request: Request, service: str, session: AdminSession) -> Response:
        query = request.query_params
        replayed = (query["ulang"], query.get("hilang", "")) if "ulang" in query else None
        return await _listing(access, services, request, session, service, replayed=replayed)

    @router.get(PATH + "/{service}/{offset}")
    async def letter(
        request: Request, service: str, offset: str, session: AdminSession
    ) -> Response:
        if not offset.isdigit() or len(offset) > 18:
            raise HTTPException(404)
        try:
            answer = await _client(services, service).get(
                session.account.member(), f"/v1/dead-letters/{offset}"
            )
        except ServiceUnavailable:
            return _render(access, request, session, 503, service=service, unavailable=service)
        if answer.status_code != 200:
            raise HTTPException(404)
        shown = answer.json()
        payload = shown.get("payload")
        pretty = payload if isinstance(payload, str) else json.dumps(payload, indent=2)
        return _render(access, request, session, service=service, letter=shown, payload=pretty)

    _add_replay(router, access, services)
    return router


def _add_replay(router: APIRouter, access: Access, services: Services) -> None:
    AdminSession = Annotated[Session, Depends(access.require(Role.ADMIN))]

    @router.post(PATH + "/{service}/ulang")
    async def replay(request: Request, service: str, session: AdminSession) -> Response:
        form = await access.form(request)
        lang = language(request)
        offsets = [int(v) for v in form.getlist("offsets") if isinstance(v, str) and v.isdigit()]
        if not offsets or form.get("sure") != "1":
            return await _listing(
                access, services, request, session, service, 422, error=WORDS[lang]["not_sure"]
            )
        try:
            answer = await _client(services, service).post(
                session.account.member(), "/v1/dead-letters/replay", json={"offsets": offsets}
            )
        except ServiceUnavailable:
            return _render(access, request, session, 503, service=service, unavailable=service)
        if answer.status_code != 200:
            error = WORDS[lang]["refused"].format(service=service, reason=refusal(answer))
            return await _listing(access, services, request, session, service, 422, error=error)
        result = answer.json()
        query = urlencode(
            {
                "ulang": ",".join(map(str, result["replayed"])) or "-",
                "hilang": ",".join(map(str, result["missing"])) or "-",
            }
        )
        return RedirectResponse(with_lang(f"{PATH}/{service}?{query}", lang), status_code=303)
