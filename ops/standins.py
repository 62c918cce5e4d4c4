"""Real local servers that stand in for the remote sides in development and tests:

- `WhatsAppCloudStandIn`: an HTTP server speaking the WhatsApp Cloud API's send request and
  response shapes (`POST /<version>/<phone_number_id>/messages`, Bearer token, `wamid.` ids,
  Graph-style error bodies), with scripted failures (e.g. 500 twice, 429 with Retry-After),
  and serving media registered with `add_media` (`GET /<version>/<media_id>` for the url,
  then `GET` that url with the same token for the bytes);
- `SmsGatewayStandIn`: the generic JSON SMS gateway, which honours Idempotency-Key;
- `SmtpStandIn`: an aiosmtpd SMTP server that keeps what it receives.

They bind to 127.0.0.1 only and keep every accepted message for inspection. The HTTP ones
are lean on purpose: HTTP/1.1 with keep-alive straight on httptools' parser (`_HttpProtocol`),
one dispatch on method and path, handlers that answer at once, no access log. They stand for
servers that run elsewhere, so the bench must not measure them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httptools


@dataclass
class Fault:
    status: int
    retry_after: float | None = None


@dataclass(frozen=True)
class Request:
    """A request read whole."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def parts(self) -> list[str]:
        return self.path.strip("/").split("/")

    def json(self) -> dict[str, Any] | None:
        """The body's JSON object, or None when it is not one."""
        try:
            body = json.loads(self.body)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, keep_alive: bool) -> bytes:
        head = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        if not keep_alive:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


Handler = Callable[[Request], Response]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(body).encode(), headers=headers or {})


class _HttpProtocol(asyncio.Protocol):
    """One connection: requests parsed by httptools as they arrive, each answered in order."""

    def __init__(self, standin: _HttpStandIn) -> None:
        self.standin = standin
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.standin._connections.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.standin._connections.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.write(Response(400).encode(keep_alive=False))
            self.transport.close()

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        request = Request(
            self.parser.get_method().decode(),
            unquote(httptools.parse_url(self._url).path.decode()),
            self._headers,
            b"".join(self._body),
        )
        keep_alive = self.parser.should_keep_alive()
        self.transport.write(self.standin.answer(request).encode(keep_alive))
        if not keep_alive:
            self.transport.close()


@dataclass
class _HttpStandIn:
    token: str = "test-token"
    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    requests: int = 0
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Transport] = field(default_factory=set)

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        self.faults.extend(Fault(status, retry_after) for _ in range(times))

    def route(self, method: str, parts: list[str]) -> Handler | None:  # pragma: no cover
        """The handler for a request (`parts`: the path's segments), or None (404)."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, request: Request) -> Response:
        handler = self.route(request.method, request.parts)
        if handler is None:
            return json_response({"detail": "Not Found"}, 404)
        return handler(request)

    async def serve(self, port: int) -> None:
        self.port = port
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _HttpProtocol(self), "127.0.0.1", port
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for transport in list(self._connections):
                transport.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def _fault(self) -> Response | None:
        if not self.faults:
            return None
        fault = self.faults.popleft()
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return json_response(
            {
                "error": {
                    "message": "scripted failure",
                    "type": "OAuthException",
                    "code": 130429 if fault.status == 429 else 131000,
                    "fbtrace_id": secrets.token_hex(8),
                }
            },
            fault.status,
            headers,
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

    def route(self, method: str, parts: list[str]) -> Handler | None:
        if method == "POST" and len(parts) == 3 and parts[2] == "messages":
            return self._send
        if method == "GET" and len(parts) == 2:
            return self._download if parts[0] == "media-download" else self._lookup
        return None

    def _download(self, request: Request) -> Response:
        self.media_requests += 1
        if not self._authorised(request):
            return _graph_error(401, 190, "Invalid OAuth access token")
        token = request.parts[1]
        found = next((m for m in self.media.values() if m.download_token == token), None)
        if found is None:
            return _graph_error(404, 100, "Media not found")
        return Response(200, found.content, found.mime_type)

    def _lookup(self, request: Request) -> Response:
        self.media_requests += 1
        if not self._authorised(request):
            return _graph_error(401, 190, "Invalid OAuth access token")
        if self.media_faults:
            return _graph_error(self.media_faults.popleft().status, 131000, "scripted")
        media_id = request.parts[1]
        found = self.media.get(media_id)
        if found is None:
            # As Meta answers an unknown or expired media id.
            return _graph_error(
                400, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist"
            )
        return json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/media-download/{found.download_token}",
                "mime_type": found.mime_type,
                "sha256": hashlib.sha256(found.content).hexdigest(),
                "file_size": len(found.content),
                "id": media_id,
            }
        )

    def _send(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorised(request):
            return _graph_error(401, 190, "Invalid OAuth access token")
        version, phone_number_id, _ = request.parts
        if phone_number_id != self.phone_number_id:
            return _graph_error(400, 100, "Unsupported post request")
        body = request.json()
        if body is None:
            return _graph_error(400, 100, "Invalid parameter")
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
        return json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            }
        )


@dataclass
class SmsGatewayStandIn(_HttpStandIn):
    """Answers a repeated Idempotency-Key with the first answer, without sending again."""

    seen: dict[str, str] = field(default_factory=dict)

    def route(self, method: str, parts: list[str]) -> Handler | None:
        return self._send if method == "POST" and parts == ["sms"] else None

    def _send(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorised(request):
            return json_response({"error": {"code": "unauthorised"}}, 401)
        body = request.json()
        if body is None or not body.get("to") or not body.get("text"):
            return json_response({"error": {"code": "invalid"}}, 400)
        fault = self._fault()
        if fault is not None:
            return fault
        idempotency_key = request.headers.get("idempotency-key")
        if idempotency_key and idempotency_key in self.seen:
            return json_response({"message_id": self.seen[idempotency_key], "status": "queued"})
        message_id = "sms-" + secrets.token_hex(8)
        if idempotency_key:
            self.seen[idempotency_key] = message_id
        self.received.append({**body, "id": message_id})
        return json_response({"message_id": message_id, "status": "queued"})


def _graph_error(status: int, code: int, message: str) -> Response:
    return json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code}}, status
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
