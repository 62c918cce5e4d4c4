"""The admin's Open311 client applications, /staff/admin/open311 (admins only): what
`lapor open311 add-client / revoke-client / clients` does, over intake's
`/v1/open311/clients`. The list never shows a key; a new client's key is shown once, on the
page that answers the form (it is stored only as a digest); revoking asks "Saya yakin"."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from schemas.staff import Role
from services.backoffice.adapters.services import Services, ServiceUnavailable, refusal
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers.signin import Session

PATH = "/staff/admin/open311"
CLIENT_ID = re.compile(r"^app-[0-9a-f]{8}$")
TITLES = {"id": "Aplikasi Open311", "en": "Open311 applications"}
WORDS = {
    "id": {
        "intro": (
            "Aplikasi warga yang boleh mengirim laporan lewat Open311 GeoReport v2. Membaca"
            " laporan publik tidak perlu kunci."
        ),
        "caption": "{count} aplikasi",
        "empty": "Belum ada aplikasi.",
        "id": "ID",
        "name": "Nama aplikasi",
        "created": "Dibuat",
        "state": "Status",
        "live": "Aktif",
        "revoked": "Dicabut {at}",
        "filed": "Laporan dikirim",
        "add": "Tambah aplikasi",
        "add_button": "Buat kunci",
        "key_once": (
            "Kunci API untuk {name} ({client_id}). Salin sekarang: kunci ini tidak akan"
            " ditampilkan lagi."
        ),
        "revoke": "Cabut kunci {client_id}",
        "revoke_button": "Cabut",
        "sure": "Saya yakin",
        "not_sure": "Centang \u201cSaya yakin\u201d untuk mencabut kunci.",
        "no_name": "Isi nama aplikasinya.",
        "done": "Kunci {client_id} dicabut.",
        "refused": "intake menolak: {reason}",
    },
    "en": {
        "intro": (
            "Citizens' applications that may file complaints through Open311 GeoReport v2."
            " Reading the public reports needs no key."
        ),
        "caption": "{count} applications",
        "empty": "No application yet.",
        "id": "ID",
        "name": "Application name",
        "created": "Created",
        "state": "State",
        "live": "Live",
        "revoked": "Revoked {at}",
        "filed": "Complaints filed",
        "add": "Add an application",
        "add_button": "Issue a key",
        "key_once": "API key for {name} ({client_id}). Copy it now: it will not be shown again.",
        "revoke": "Revoke key {client_id}",
        "revoke_button": "Revoke",
        "sure": "I am sure",
        "not_sure": "Tick \u201cI am sure\u201d to revoke the key.",
        "no_name": "Give the application's name.",
        "done": "Key {client_id} revoked.",
        "refused": "intake refused: {reason}",
    },
}


class ClientPages:
    def __init__(self, access: Access, services: Services) -> None:
        self.access = access
        self.services = services

    async def show(
        self, request: Request, session: Session, status: int = 200, **ctx: Any
    ) -> Response:
        lang = language(request)
        try:
            answer = await self.services.intake.get(session.account.member(), "/v1/open311/clients")
        except ServiceUnavailable:
            return self._render(request, session, 503, clients=None, unavailable="intake")
        if answer.status_code != 200:
            error = WORDS[lang]["refused"].format(reason=refusal(answer))
            return self._render(request, session, 502, clients=None, error=error)
        return self._render(request, session, status, clients=answer.json(), **ctx)

    def _render(self, request: Request, session: Session, status: int, **ctx: Any) -> Response:
        lang = language(request)
        return self.access.page(
            request,
            "open311_clients.html",
            session,
            status_code=status,
            title=TITLES[lang],
            x=WORDS[lang],
            **ctx,
        )

    async def add(self, request: Request, session: Session) -> Response:
        form = await self.access.form(request)
        words = WORDS[language(request)]
        name = form.get("name")
        name = name.strip()[:120] if isinstance(name, str) else ""
        if not name:
            return await self.show(request, session, 422, error=words["no_name"])
        try:
            answer = await self.services.intake.post(
                session.account.member(), "/v1/open311/clients", json={"name": name}
            )
        except ServiceUnavailable:
            return self._render(request, session, 503, clients=None, unavailable="intake")
        if answer.status_code != 201:
            error = words["refused"].format(reason=refusal(answer))
            return await self.show(request, session, 422, error=error)
        return await self.show(request, session, 201, issued=answer.json())

    async def revoke(self, request: Request, session: Session, client_id: str) -> Response:
        if not CLIENT_ID.match(client_id):
            raise HTTPException(404)
        form = await self.access.form(request)
        lang = language(request)
        if form.get(f"sure-{client_id}") != "1":
            return await self.show(request, session, 422, error=WORDS[lang]["not_sure"])
        try:
            answer = await self.services.intake.post(
                session.account.member(), f"/v1/open311/clients/{client_id}/revoke"
            )
        except ServiceUnavailable:
            return self._render(request, session, 503, clients=None, unavailable="intake")
        if answer.status_code != 200:
            error = WORDS[lang]["refused"].format(reason=refusal(answer))
            return await self.show(request, session, 422, error=error)
        return RedirectResponse(with_lang(f"{PATH}?dicabut={client_id}", lang), status_code=303)


def open311_clients_router(access: Access, services: Services) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    AdminSession = Annotated[Session, Depends(access.require(Role.ADMIN))]
    pages = ClientPages(access, services)

    @router.get(PATH)
    async def clients(request: Request, session: AdminSession) -> Response:
        revoked = request.query_params.get("dicabut", "")
        return await pages.show(
            request, session, revoked=revoked if CLIENT_ID.match(revoked) else None
        )

    @router.post(PATH)
    async def add(request: Request, session: AdminSession) -> Response:
        return await pages.add(request, session)

    @router.post(PATH + "/{client_id}/cabut")
    async def revoke(request: Request, client_id: str, session: AdminSession) -> Response:
        return await pages.revoke(request, session, client_id)

    return router
