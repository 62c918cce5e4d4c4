"""The admin's staff accounts page, /staff/admin/akun (admins only): every account with its
roles, agency, one-time codes and state; a form to create one; per account, a form to set
its roles and agency and a button to disable (which ends its sessions) or enable it. Every
change is audited (`staff_account_events`)."""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from schemas.staff import Role
from services.backoffice.adapters import accounts as store
from services.backoffice.adapters.accounts import AccountExists
from services.backoffice.domain.accounts import InvalidAccount, parse_roles
from services.backoffice.domain.passwords import WeakPassword
from services.backoffice.entrypoints.access import Access
from services.backoffice.entrypoints.pages import language, with_lang
from services.backoffice.handlers import accounts
from services.backoffice.handlers.signin import Session

PATH = "/staff/admin/akun"
TITLES = {"id": "Akun petugas", "en": "Staff accounts"}
WORDS = {
    "id": {
        "caption": "Semua akun petugas",
        "id": "ID petugas",
        "id_hint": "Huruf kecil, angka, titik, garis bawah atau tanda hubung.",
        "name": "Nama",
        "roles": "Peran",
        "roles_of": "Peran",
        "agency": "Kode instansi (untuk peran instansi)",
        "agency_hint": "Wajib untuk petugas dan supervisor instansi, contoh KEMENPU.",
        "totp": "Kode autentikator",
        "state": "Status",
        "created": "Dibuat",
        "yes": "Aktif",
        "no": "Belum",
        "active": "Aktif",
        "disabled": "Nonaktif",
        "enable": "Aktifkan",
        "disable": "Nonaktifkan",
        "save_roles": "Simpan peran",
        "new": "Akun baru",
        "password": "Kata sandi awal",
        "password_hint": "Minimal 12 huruf. Sampaikan kepada petugas lewat jalur yang aman.",
        "create": "Buat akun",
        "done": {
            "created": "Akun dibuat.",
            "roles": "Peran disimpan.",
            "disabled": "Akun dinonaktifkan; sesinya berakhir.",
            "enabled": "Akun diaktifkan.",
        },
        "errors": {"self": "Anda tidak dapat menonaktifkan akun Anda sendiri."},
    },
    "en": {
        "caption": "Every staff account",
        "id": "Staff id",
        "id_hint": "Lower-case letters, digits, dot, underscore or hyphen.",
        "name": "Name",
        "roles": "Roles",
        "roles_of": "Roles of",
        "agency": "Agency code (for agency roles)",
        "agency_hint": "Required for agency officers and supervisors, e.g. KEMENPU.",
        "totp": "Authenticator code",
        "state": "State",
        "created": "Created",
        "yes": "On",
        "no": "Not yet",
        "active": "Active",
        "disabled": "Disabled",
        "enable": "Enable",
        "disable": "Disable",
        "save_roles": "Save roles",
        "new": "New account",
        "password": "Initial password",
        "password_hint": "At least 12 characters. Hand it over by a safe channel.",
        "create": "Create account",
        "done": {
            "created": "Account created.",
            "roles": "Roles saved.",
            "disabled": "Account disabled; its sessions ended.",
            "enabled": "Account enabled.",
        },
        "errors": {"self": "You cannot disable your own account."},
    },
}


def _text(form: Any, name: str, limit: int = 300) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def accounts_router(access: Access) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    AdminSession = Annotated[Session, Depends(access.require(Role.ADMIN))]

    async def page(request: Request, session: Session, status: int = 200, **ctx: Any) -> Response:
        lang = language(request)
        return access.page(
            request,
            "accounts.html",
            session,
            status_code=status,
            title=TITLES[lang],
            accounts=await store.accounts(access.pool()),
            roles=list(Role),
            a=WORDS[lang],
            **ctx,
        )

    def done(request: Request, notice: str) -> Response:
        lang = language(request)
        return RedirectResponse(with_lang(f"{PATH}?done={notice}", lang), status_code=303)

    @router.get(PATH)
    async def list_accounts(request: Request, session: AdminSession) -> Response:
        return await page(request, session, done=request.query_params.get("done"))

    @router.post(PATH)
    async def create(request: Request, session: AdminSession) -> Response:
        form = await access.form(request)
        try:
            roles = parse_roles(form.getlist("roles"))  # type: ignore[arg-type]
            fields = (
                _text(form, "staff_id", 64),
                _text(form, "display_name"),
                roles,
                _text(form, "agency_code", 32) or None,
            )
            await accounts.add_account(
                access.pool(), fields, _text(form, "password"), session.account.staff_id
            )
        except (InvalidAccount, WeakPassword, AccountExists) as refused:
            error = f"exists: {refused}" if isinstance(refused, AccountExists) else str(refused)
            return await page(request, session, 422, error=error, entered=form)
        return done(request, "created")

    @router.post(PATH + "/{staff_id}/peran")
    async def set_roles(request: Request, staff_id: str, session: AdminSession) -> Response:
        form = await access.form(request)
        try:
            roles = parse_roles(form.getlist("roles"))  # type: ignore[arg-type]
            await accounts.change_roles(
                access.pool(),
                staff_id,
                roles,
                _text(form, "agency_code", 32) or None,
                session.account.staff_id,
            )
        except InvalidAccount as refused:
            return await page(request, session, 422, error=f"{staff_id}: {refused}")
        except LookupError:
            raise HTTPException(404) from None
        return done(request, "roles")

    @router.post(PATH + "/{staff_id}/status")
    async def set_status(request: Request, staff_id: str, session: AdminSession) -> Response:
        form = await access.form(request)
        disable = _text(form, "disabled") == "1"
        if staff_id == session.account.staff_id and disable:
            return await page(request, session, 422, error="self")
        if await store.account(access.pool(), staff_id) is None:
            raise HTTPException(404)
        await store.set_disabled(access.pool(), staff_id, disable, session.account.staff_id)
        return done(request, "disabled" if disable else "enabled")

    return router
