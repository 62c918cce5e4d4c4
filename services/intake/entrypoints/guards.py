"""Intake's HTTP guards, as ASGI middleware and one form helper (the decisions are pure, in
`limits` and `csrf`):

- `BodySizeLimit`: 413 for a body over its route's limit, judged on Content-Length up front
  and on the bytes actually received (a chunked body declares no length).
- `ClientRateLimit`: 429 with Retry-After per client IP (token bucket in memory), except the
  WhatsApp webhook (Meta retries a refusal, which would only amplify a flood) and the probes.
- `SecurityHeaders`: nosniff, no framing, no referrer and no-store on everything; a strict
  Content-Security-Policy and Permissions-Policy on HTML pages.
- CORS: Starlette's middleware with only the configured origins (none by default).
- `FormGuard`: the CSRF cookie and token of the HTML forms (shared: `services.runtime.forms`,
  as is `SecurityHeaders`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import Counter
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.domain import open311
from services.intake.domain.limits import (
    BodyLimits,
    KeyedBuckets,
    client_key,
    declared_too_large,
    retry_after_seconds,
)
from services.intake.settings import IntakeSettings
from services.runtime import forms
from services.runtime.forms import SecurityHeaders

REFUSED = Counter(
    "lapor_intake_http_refused_total", "Requests refused at intake's edge", ["reason"]
)
# Never rate limited: Meta's webhook deliveries and the orchestrator's probes.
EXEMPT_PATHS = frozenset({"/webhooks/whatsapp", "/healthz", "/readyz", "/metrics"})


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    path: str = "",
) -> None:
    """A refusal: `{"detail": ...}`, or on Open311's paths the spec's error list."""
    body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    if path.startswith("/open311/"):
        body = json.dumps([open311.error(status, detail)]).encode()
        if path.endswith(".xml"):
            body = open311.to_xml("errors", "error", [open311.error(status, detail)])
            kind = b"application/xml; charset=utf-8"
    raw = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised from `receive`: FastAPI lets HTTPExceptions from body parsing through, so the
    app answers the 413 itself; the middleware answers if the app swallowed it."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        if declared_too_large(Headers(scope=scope).get("content-length"), limit):
            REFUSED.labels("too_large").inc()
            await send_problem(send, 413, "request body too large", {"connection": "close"})
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await send_problem(send, 413, "request body too large", {"connection": "close"})
        finally:
            if received > limit:
                REFUSED.labels("too_large").inc()


class ClientRateLimit:
    def __init__(
        self, app: ASGIApp, buckets: KeyedBuckets, exempt: frozenset[str] = EXEMPT_PATHS
    ) -> None:
        self.app = app
        self.buckets = buckets
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client_key(client[0] if client else None))
        if wait > 0:
            REFUSED.labels("rate_ip").inc()
            seconds = retry_after_seconds(wait)
            await send_problem(
                send,
                429,
                f"too many requests from your network; try again in {seconds} s",
                {"retry-after": str(seconds)},
                scope["path"],
            )
            return
        await self.app(scope, receive, send)


def install_guards(
    app: FastAPI, settings: IntakeSettings, clock: Callable[[], float] = time.monotonic
) -> None:
    """Add the middleware, innermost first: body size, per-IP rate, CORS, headers (so 413
    and 429 answers carry the CORS and security headers too)."""
    app.add_middleware(
        BodySizeLimit,
        limits=BodyLimits(
            default=settings.max_request_bytes,
            uploads=settings.upload_request_max_bytes(),
            webhook=settings.webhook_max_bytes,
        ),
    )
    app.add_middleware(
        ClientRateLimit,
        buckets=KeyedBuckets(
            settings.rate_limit_per_ip_per_minute,
            settings.rate_limit_per_ip_burst,
            settings.rate_limit_tracked_clients,
            clock,
        ),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins(),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Idempotency-Key"],
        allow_credentials=False,
        max_age=600,
    )
    app.add_middleware(SecurityHeaders)


class FormGuard(forms.FormGuard):
    """Intake's forms: its form key and cookie, refusals counted at its edge."""

    def __init__(self, settings: IntakeSettings) -> None:
        super().__init__(settings.form_key, on_refused=REFUSED.labels("csrf").inc)


def too_many(wait: float, detail: str) -> Response:
    """The 429 a per-reporter limit answers on the JSON API."""
    seconds = retry_after_seconds(wait)
    return Response(
        json.dumps({"detail": f"{detail}; try again in {seconds} s"}),
        status_code=429,
        media_type="application/json",
        headers={"Retry-After": str(seconds)},
    )
