"""Real local servers that stand in for the remote sides in development and tests:

- `WhatsAppCloudStandIn`: an HTTP server speaking the WhatsApp Cloud API's send request and
  response shapes (`POST /<version>/<phone_number_id>/messages`, Bearer token, `wamid.` ids,
  Graph-style error bodies), with scripted failures (e.g. 500 twice, 429 with Retry-After),
  and serving media registered with `add_media` (`GET /<version>/<media_id>` for the url,
  then `GET` that url with the same token for the bytes);
- `SmsGatewayStandIn`: the generic JSON SMS gateway, which honours Idempotency-Key;
- `SmtpStandIn`: an aiosmtpd SMTP server that keeps what it receives.

They bind to 127.0.0.1 only and keep every accepted message for inspection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import secrets
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class Fault:
    status: int
    retry_after: float | None = None


@dataclass
class _HttpStandIn:
    token: str = "test-token"
    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    requests: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        self.faults.extend(Fault(status, retry_after) for _ in range(times))

    def app(self) -> FastAPI:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, port: int) -> None:
        self.port = port
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app(), host="127.0.0.1", port=port, log_config=None, access_log=False
            )
        )
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._task

    def _authorised(self, authorization: str | None) -> bool:
        return authorization == f"Bearer {self.token}"

    def _fault(self) -> JSONResponse | None:
        if not self.faults:
            return None
        fault = self.faults.popleft()
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return JSONResponse(
            {
                "error": {
                    "message": "scripted failure",
                    "type": "OAuthException",
                    "code": 130429 if fault.status == 429 else 131000,
                    "fbtrace_id": secrets.token_hex(8),
                }
            },
            status_code=fault.status,
            headers=headers,
        )


@dataclass
class _Media:
    content: bytes
    mime_type: str
    download_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))


def realistic_wamid(wa_id: str) -> str:
    """A message id shaped like Meta's: `wamid.` and base64 of a small binary record that
    holds the number (`wamid.HBgNNjI4MTIz...` opens to `...6281234567890...`) and a random
    id. Meta calls wamids opaque, but real ones are read this way: tests use this shape so a
    stored wamid would show as the number (docs/personal-data.md)."""
    number = wa_id.encode()
    random_id = secrets.token_hex(10).upper().encode()
    record = (
        b"\x1c\x18"
        + bytes([len(number)])
        + number
        + b"\x15\x02\x00\x11\x18"
        + bytes([len(random_id)])
        + random_id
        + b"\x00"
    )
    return "wamid." + base64.b64encode(record).decode()


@dataclass
class WhatsAppCloudStandIn(_HttpStandIn):
    phone_number_id: str = "1234567890"
    media: dict[str, _Media] = field(default_factory=dict)
    media_requests: int = 0
    media_faults: deque[Fault] = field(default_factory=deque)

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> None:
        """Media a webhook message may name by id (as Meta keeps what citizens send)."""
        self.media[media_id] = _Media(content, mime_type)

    def fail_next_media(self, status: int, times: int = 1) -> None:
        """Scripted failures of the media lookup (e.g. 500: intake must retry)."""
        self.media_faults.extend(Fault(status) for _ in range(times))

    def _media_routes(self, app: FastAPI) -> None:
        @app.get("/media-download/{token}")
        async def download(
            token: str, authorization: str | None = Header(default=None)
        ) -> Response:
            self.media_requests += 1
            if not self._authorised(authorization):
                return _graph_error(401, 190, "Invalid OAuth access token")
            found = next((m for m in self.media.values() if m.download_token == token), None)
            if found is None:
                return _graph_error(404, 100, "Media not found")
            return Response(found.content, media_type=found.mime_type)

        @app.get("/{version}/{media_id}")
        async def lookup(
            version: str, media_id: str, authorization: str | None = Header(default=None)
        ) -> JSONResponse:
            self.media_requests += 1
            if not self._authorised(authorization):
                return _graph_error(401, 190, "Invalid OAuth access token")
            if self.media_faults:
                return _graph_error(self.media_faults.popleft().status, 131000, "scripted")
            found = self.media.get(media_id)
            if found is None:
                # As Meta answers an unknown or expired media id.
                return _graph_error(
                    400, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist"
                )
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.url}/media-download/{found.download_token}",
                    "mime_type": found.mime_type,
                    "sha256": hashlib.sha256(found.content).hexdigest(),
                    "file_size": len(found.content),
                    "id": media_id,
                }
            )

    def app(self) -> FastAPI:
        app = FastAPI()
        self._media_routes(app)

        @app.post("/{version}/{phone_number_id}/messages")
        async def send(
            version: str,
            phone_number_id: str,
            request: Request,
            authorization: str | None = Header(default=None),
        ) -> JSONResponse:
            self.requests += 1
            if not self._authorised(authorization):
                return _graph_error(401, 190, "Invalid OAuth access token")
            if phone_number_id != self.phone_number_id:
                return _graph_error(400, 100, "Unsupported post request")
            body = await request.json()
            if body.get("messaging_product") != "whatsapp" or body.get("type") not in (
                "text",
                "template",
            ):
                return _graph_error(400, 100, "Invalid parameter")
            if body["type"] == "text" and not body.get("text", {}).get("body"):
                return _graph_error(400, 100, "Invalid parameter")
            if not str(body.get("to", "")).isdigit():
                return _graph_error(400, 131009, "Parameter value is not valid")
            fault = self._fault()
            if fault is not None:
                return fault
            wamid = realistic_wamid(str(body["to"]))
            self.received.append({**body, "id": wamid, "version": version})
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": wamid}],
                }
            )

        return app


class SmsGatewayStandIn(_HttpStandIn):
    """Answers a repeated Idempotency-Key with the first answer, without sending again."""

    def app(self) -> FastAPI:
        app = FastAPI()
        seen: dict[str, str] = {}

        @app.post("/sms")
        async def send(
            request: Request,
            authorization: str | None = Header(default=None),
            idempotency_key: str | None = Header(default=None),
        ) -> JSONResponse:
            self.requests += 1
            if not self._authorised(authorization):
                return JSONResponse({"error": {"code": "unauthorised"}}, status_code=401)
            body = await request.json()
            if not body.get("to") or not body.get("text"):
                return JSONResponse({"error": {"code": "invalid"}}, status_code=400)
            fault = self._fault()
            if fault is not None:
                return fault
            if idempotency_key and idempotency_key in seen:
                return JSONResponse({"message_id": seen[idempotency_key], "status": "queued"})
            message_id = "sms-" + secrets.token_hex(8)
            if idempotency_key:
                seen[idempotency_key] = message_id
            self.received.append({**body, "id": message_id})
            return JSONResponse({"message_id": message_id, "status": "queued"})

        return app


def _graph_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "OAuthException", "code": code}},
        status_code=status,
    )


class SmtpStandIn:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.port = port
        self.messages: list[Message] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(message_from_bytes(envelope.original_content))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


async def _serve_forever(whatsapp_port: int, sms_port: int, smtp_port: int) -> None:
    whatsapp, sms = WhatsAppCloudStandIn(), SmsGatewayStandIn()
    await whatsapp.serve(whatsapp_port)
    await sms.serve(sms_port)
    smtp = SmtpStandIn(smtp_port)
    smtp.start()
    print(
        "export"
        f" LAPOR_NOTIFIER_WHATSAPP_API_URL={whatsapp.url}"
        f" LAPOR_NOTIFIER_WHATSAPP_PHONE_NUMBER_ID={whatsapp.phone_number_id}"
        f" LAPOR_NOTIFIER_WHATSAPP_TOKEN={whatsapp.token}"
        f" LAPOR_NOTIFIER_SMS_GATEWAY_URL={sms.url}/sms"
        f" LAPOR_NOTIFIER_SMS_GATEWAY_TOKEN={sms.token}"
        f" LAPOR_NOTIFIER_SMTP_HOST=127.0.0.1 LAPOR_NOTIFIER_SMTP_PORT={smtp_port}"
        f" LAPOR_INTAKE_WHATSAPP_API_URL={whatsapp.url}"
        f" LAPOR_INTAKE_WHATSAPP_TOKEN={whatsapp.token}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        smtp.stop()
        await sms.stop()
        await whatsapp.stop()


if __name__ == "__main__":
    # Development: `python -m ops.standins [WHATSAPP_PORT SMS_PORT SMTP_PORT]`
    # and paste the printed exports.
    import sys

    whatsapp_port, sms_port, smtp_port = (
        int(arg) for arg in sys.argv[1:4] or (18081, 18082, 18025)
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(whatsapp_port, sms_port, smtp_port))
