"""Who is signed in, and the server-side role check of every page.

`Access.require(*roles)` is the dependency each page declares: it loads the session from the
cookie (sliding its expiry on), and
- no session (none, expired, account disabled): 303 to /staff/masuk?next=<this page>;
- an admin who has not turned on one-time codes yet: 303 to /staff/totp;
- a member without any of `roles`: 404, as for a page that does not exist (never revealed).
`Access.page(...)` renders a page with the CSRF token every form (sign-out included) needs;
`Access.form(request)` reads a POSTed form and refuses it (403 page) without its token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from prometheus_client import Counter
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from schemas.staff import Role
from services.backoffice.domain.accounts import may_use
from services.backoffice.entrypoints.pages import render, sign_in_url, with_lang
from services.backoffice.handlers.signin import Session, current_session
from services.backoffice.settings import BackofficeSettings
from services.runtime import csrf
from services.runtime.forms import FormGuard

SESSION_COOKIE = "lapor_staff_session"
CSRF_COOKIE = "lapor_staff_csrf"  # not intake's: cookies are shared across a host's ports
TOTP_PATH = "/staff/totp"
REFUSED = Counter("lapor_backoffice_refused_total", "Back-office requests refused", ["reason"])


class Redirect(Exception):
    """Answered as a 303 to `location` (an exception handler in `bootstrap`)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class FormRefused(Exception):
    """A POST without its CSRF token: answered with the 403 page."""


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a back-office path only (no open redirect)."""
    if value and value.startswith("/staff") and "//" not in value and "\\" not in value:
        return value
    return "/staff"


class Access:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        settings: BackofficeSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.clock = clock
        self.forms = FormGuard(
            settings.form_key, cookie=CSRF_COOKIE, on_refused=REFUSED.labels("csrf").inc
        )

    def idle(self) -> timedelta:
        return timedelta(minutes=self.settings.session_idle_minutes)

    async def session(self, request: Request) -> Session | None:
        token = request.cookies.get(SESSION_COOKIE)
        return await current_session(self.pool(), token, self.clock(), self.idle())

    def require(self, *roles: Role) -> Callable[[Request], Awaitable[Session]]:
        """The dependency of a page for members holding any of `roles` (none: any member)."""

        async def signed_in(request: Request) -> Session:
            found = await self.session(request)
            if found is None:
                REFUSED.labels("no_session").inc()
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                had_cookie = SESSION_COOKIE in request.cookies
                location = sign_in_url(target, _lang(request))
                raise Redirect(location + ("&expired=1" if had_cookie else ""))
            account = found.account
            if Role.ADMIN in account.roles and not account.totp_enabled:
                if request.url.path != TOTP_PATH:
                    raise Redirect(with_lang(TOTP_PATH, _lang(request)))
            elif not may_use(account.member(), roles):
                REFUSED.labels("role").inc()
                raise HTTPException(404)
            return found

        return signed_in

    def secure(self, request: Request) -> bool:
        if self.settings.cookie_secure is not None:
            return self.settings.cookie_secure
        return request.url.scheme == "https"

    def set_session(self, request: Request, response: Response, token: str | None) -> None:
        if token is None:
            response.delete_cookie(SESSION_COOKIE, path="/staff")
            return
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
            path="/staff",
        )

    def page(
        self, request: Request, template: str, session: Session | None, **context: Any
    ) -> Response:
        """Render `template` with this browser's CSRF token as `csrf_token`."""
        return self.forms.page(
            request,
            lambda token: render(request, template, session=session, csrf_token=token, **context),
        )

    async def form(self, request: Request, max_files: int = 0) -> FormData:
        """The POSTed form (small fields, and at most `max_files` uploaded files, kept by
        starlette in temporary files); FormRefused without its CSRF token."""
        part_size = 64 * 1024 if max_files else 16 * 1024  # a walk-in's account is long
        form = await request.form(max_files=max_files, max_fields=40, max_part_size=part_size)
        if not self.forms.passes(request, form.get(csrf.FIELD)):
            raise FormRefused()
        return form


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "id"


def refused_page(request: Request) -> HTMLResponse:
    return render(request, "message.html", status_code=403, title="refused", message="refused")
