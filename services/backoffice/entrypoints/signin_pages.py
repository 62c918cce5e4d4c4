"""Signing in and out, and turning on one-time codes:
- GET/POST /staff/masuk: the sign-in form (id, password, and the 6-digit code once enabled);
  failures are limited per account and per address (429 with the wait in minutes);
- GET /staff/keluar (a confirmation form) and POST /staff/keluar: sign out;
- GET/POST /staff/totp: enrolment (the secret and its otpauth URI, then a code to prove it).
"""

# No `from __future__ import annotations` here: FastAPI must resolve the routes' local
# Annotated dependencies at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.backoffice.domain.signin import minutes, new_totp_secret, otpauth_uri
from services.backoffice.entrypoints.access import SESSION_COOKIE, Access, safe_next
from services.backoffice.entrypoints.pages import TEXTS, language, with_lang
from services.backoffice.handlers import signin
from services.backoffice.handlers.signin import Session


def _field(form: Any, name: str, limit: int = 300) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def signin_router(access: Access) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SignedIn = Annotated[Session, Depends(access.require())]

    def sign_in_page(request: Request, status: int = 200, **context: Any) -> Response:
        next_path = safe_next(context.pop("next_path", None) or request.query_params.get("next"))
        return access.page(
            request,
            "signin.html",
            None,
            status_code=status,
            title=TEXTS[language(request)]["sign_in"],
            next_path=next_path,
            **context,
        )

    @router.get("/staff/masuk")
    async def sign_in_form(request: Request) -> Response:
        expired = request.query_params.get("expired") == "1"
        return sign_in_page(request, notice="expired" if expired else None)

    @router.post("/staff/masuk")
    async def sign_in(request: Request) -> Response:
        form = await access.form(request)
        lang = language(request, form.get("lang"))
        credentials = (_field(form, "staff_id", 64), _field(form, "password"), _field(form, "code"))
        client = request.client.host if request.client else "unknown"
        outcome = await signin.sign_in(
            access.pool(), access.settings, credentials, client, access.clock()
        )
        next_path = safe_next(_field(form, "next"))
        if isinstance(outcome, signin.Refused):
            locked = outcome.wait is not None
            error = TEXTS[lang]["locked" if locked else "wrong"].format(
                minutes=minutes(outcome.wait) if outcome.wait else 0
            )
            headers = {"Retry-After": str(int(outcome.wait.total_seconds()) + 1)} if locked else {}
            page = sign_in_page(
                request,
                429 if locked else 401,
                error=error,
                next_path=next_path,
                staff_id=credentials[0],
                lang=lang,
            )
            page.headers.update(headers)
            return page
        response = RedirectResponse(with_lang(next_path, lang), status_code=303)
        access.set_session(request, response, outcome.token)
        return response

    @router.get("/staff/keluar")
    async def sign_out_form(request: Request, session: SignedIn) -> Response:
        title = TEXTS[language(request)]["sign_out"]
        return access.page(request, "signout.html", session, title=title)

    @router.post("/staff/keluar")
    async def sign_out(request: Request) -> Response:
        form = await access.form(request)
        await signin.sign_out(access.pool(), request.cookies.get(SESSION_COOKIE))
        lang = language(request, form.get("lang"))
        response = RedirectResponse(with_lang("/staff/masuk?out=1", lang), status_code=303)
        access.set_session(request, response, None)
        return response

    _add_totp(router, access, SignedIn)
    return router


def _add_totp(router: APIRouter, access: Access, SignedIn: Any) -> None:
    def totp_page(
        request: Request, session: Session, status: int = 200, **context: Any
    ) -> Response:
        secret = context.pop("secret", None) or new_totp_secret()
        uri = otpauth_uri(secret, session.account.staff_id, access.settings.totp_issuer)
        title = TEXTS[language(request, context.get("lang"))]["totp"]
        return access.page(
            request,
            "totp.html",
            session,
            status_code=status,
            title=title,
            secret=secret,
            uri=uri,
            **context,
        )

    @router.get("/staff/totp")
    async def totp_form(request: Request, session: SignedIn) -> Response:
        return totp_page(request, session)

    @router.post("/staff/totp")
    async def totp_enrol(request: Request, session: SignedIn) -> Response:
        form = await access.form(request)
        lang = language(request, form.get("lang"))
        if session.account.totp_enabled:
            return totp_page(request, session, lang=lang)
        secret = _field(form, "secret", 64)
        enrolled = secret and await signin.enrol_totp(
            access.pool(),
            session.account.staff_id,
            secret,
            _field(form, "code", 12),
            access.clock(),
        )
        if not enrolled:
            return totp_page(
                request, session, 422, secret=secret or None, error="totp_wrong", lang=lang
            )
        return RedirectResponse(with_lang("/staff?totp=1", lang), status_code=303)
