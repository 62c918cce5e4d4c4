"""What every service that serves HTML forms shares: the CSRF guard of the forms (`FormGuard`,
over the pure signed double-submit tokens of `csrf`) and the security headers of every answer
(`SecurityHeaders`). Intake's citizen pages and desk, and the back office, use them."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime import csrf

# Swagger UI and ReDoc load their scripts from a CDN: they keep the other headers only.
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " base-uri 'none'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)
_PROCESS_FORM_KEY = secrets.token_bytes(32)


class SecurityHeaders:
    """nosniff, no framing, no referrer and no-store on everything; a strict
    Content-Security-Policy and Permissions-Policy on HTML pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                # Personal data and CSRF tokens must not sit in shared or browser caches; a
                # route that wants caching (the stylesheet) says so itself.
                headers.setdefault("Cache-Control", "no-store")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                html = headers.get("content-type", "").startswith("text/html")
                if html and scope["path"] not in DOCS_PATHS:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FormGuard:
    """Issues and checks the CSRF token of the HTML forms (see `csrf`). `form_key` empty: a
    random key per process (set one when several instances serve the same site); `cookie`:
    the cookie's name (services on one host share cookies across ports, so each has its own);
    `on_refused`: called for each refused form (a service's metric)."""

    def __init__(
        self,
        form_key: str = "",
        *,
        cookie: str = csrf.COOKIE,
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        self.key = form_key.encode() if form_key else _PROCESS_FORM_KEY
        self.cookie = cookie
        self.on_refused = on_refused

    def token(self, request: Request) -> tuple[str, str | None]:
        """The form token for this browser, and the new nonce to set as its cookie (None when
        the browser's cookie already holds a good one)."""
        existing = request.cookies.get(self.cookie)
        if existing and csrf.is_nonce(existing):
            return csrf.token_for(self.key, existing), None
        nonce = csrf.new_nonce()
        return csrf.token_for(self.key, nonce), nonce

    def set_cookie(self, request: Request, response: Response, nonce: str | None) -> None:
        if nonce is not None:
            response.set_cookie(
                self.cookie,
                nonce,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )

    def page(self, request: Request, render: Callable[[str], Response]) -> Response:
        """Render a page holding a form with a token for this browser's cookie (set here
        when the browser has none yet)."""
        token, nonce = self.token(request)
        response = render(token)
        self.set_cookie(request, response, nonce)
        return response

    def passes(self, request: Request, token: object) -> bool:
        if not isinstance(token, str):
            passed = False
        else:
            passed = csrf.token_matches(self.key, request.cookies.get(self.cookie), token)
        if not passed and self.on_refused is not None:
            self.on_refused()
        return passed
