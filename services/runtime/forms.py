"""What every service that serves HTML forms shares: the CSRF guard of the forms (`FormGuard`,
over the pure signed double-submit tokens of `csrf`) and the security headers of every answer
(`SecurityHeaders`). Intake's citizen pages and desk, and the back office, use them."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from fastapi import Request
from fastapi.responses import Response
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


# Raw ASGI header pairs, added to an answer's headers only where the route set none itself.
_EVERY_ANSWER = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # Personal data and CSRF tokens must not sit in shared or browser caches; a route that
    # wants caching (the stylesheet) says so itself.
    (b"cache-control", b"no-store"),
)
_HTTPS_ANSWER = ((b"strict-transport-security", b"max-age=31536000"),)
_HTML_PAGE = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
)


class SecurityHeaders:
    """nosniff, no framing, no referrer and no-store on everything; a strict
    Content-Security-Policy and Permissions-Policy on HTML pages. Pure ASGI on the raw header
    list (no per-answer header object): every answer of every service passes here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(scope, message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(
    scope: Scope, headers: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """`headers` plus the security headers the answer does not set itself."""
    raw = list(headers)
    present = {name.lower(): value for name, value in raw}
    wanted: tuple[tuple[bytes, bytes], ...] = _EVERY_ANSWER
    if scope.get("scheme") == "https":
        wanted += _HTTPS_ANSWER
    html = present.get(b"content-type", b"").startswith(b"text/html")
    if html and scope["path"] not in DOCS_PATHS:
        wanted += _HTML_PAGE
    raw.extend((name, value) for name, value in wanted if name not in present)
    return raw


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
