"""The WhatsApp Cloud API webhook: GET verification handshake and signed POST notifications.

A POST is checked (signature over the raw bytes, constant time) before it is parsed, then
persisted (messages into the inbox, statuses into the outbox as `WhatsAppStatusReported`)
in one transaction (`handlers.whatsapp.accept_notifications`), and answered 200. Concurrent
notifications are persisted together (`NotificationStore`, a group commit: one statement for
all their messages). The conversation runs afterwards in the inbox workers.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import Counter

from services.intake.domain.whatsapp import (
    SIGNATURE_HEADER,
    InvalidWebhook,
    WebhookBatch,
    parse_notification,
    signature_matches,
)
from services.intake.entrypoints.group_commit import GroupCommit
from services.intake.handlers.whatsapp import accept_notifications
from services.intake.settings import IntakeSettings
from services.personal_data.keystore import Keystore

log = logging.getLogger(__name__)
WEBHOOK_ITEMS = Counter(
    "lapor_intake_whatsapp_items_total",
    "WhatsApp webhook items by kind and outcome",
    ["kind", "outcome"],
)


class NotificationStore(GroupCommit[WebhookBatch, int]):
    """Persists concurrent webhook notifications together; each answer is how many of its
    messages were new."""

    name = "whatsapp notifications"

    def __init__(self, pool: Callable[[], asyncpg.Pool], keys: Keystore) -> None:
        super().__init__(pool)
        self.keys = keys

    async def commit(self, conn: asyncpg.Connection, items: list[WebhookBatch]) -> list[int]:
        return await accept_notifications(conn, items, self.keys)


def whatsapp_router(
    pool: Callable[[], asyncpg.Pool],
    settings: IntakeSettings,
    keys: Keystore,
    wake_inbox: asyncio.Event | None = None,
    store: NotificationStore | None = None,
) -> APIRouter:
    """The webhook; `wake_inbox` is the inbox workers' wake-up, set when messages arrive;
    `store` persists notifications (without its loop running, each on its own)."""
    router = APIRouter(tags=["whatsapp"])
    store = store or NotificationStore(pool, keys)

    @router.get("/webhooks/whatsapp", response_class=PlainTextResponse)
    async def verify_webhook(
        mode: Annotated[str | None, Query(alias="hub.mode")] = None,
        token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
        challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=1000)] = None,
    ) -> Any:
        """Meta's subscription handshake: echo the challenge when the verify token matches."""
        expected = settings.whatsapp_verify_token
        if (
            mode == "subscribe"
            and expected
            and token is not None
            and hmac.compare_digest(token.encode(), expected.encode())
            and challenge is not None
        ):
            return PlainTextResponse(challenge)
        raise HTTPException(status_code=403, detail="verification failed")

    @router.post(
        "/webhooks/whatsapp",
        responses={
            401: {"description": "Missing or bad X-Hub-Signature-256"},
            400: {"description": "Signed, but not a WhatsApp notification"},
            413: {"description": "Body too large"},
        },
    )
    async def receive_notification(request: Request) -> dict[str, int]:
        """Messages and status callbacks from the WhatsApp Business Cloud API."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.webhook_max_bytes:
            raise HTTPException(status_code=413, detail="notification too large")
        raw = await request.body()
        if len(raw) > settings.webhook_max_bytes:
            raise HTTPException(status_code=413, detail="notification too large")
        if not signature_matches(
            settings.whatsapp_app_secret, raw, request.headers.get(SIGNATURE_HEADER)
        ):
            WEBHOOK_ITEMS.labels("notification", "bad_signature").inc()
            raise HTTPException(status_code=401, detail="missing or invalid X-Hub-Signature-256")
        try:
            batch = parse_notification(json.loads(raw))
        except (ValueError, InvalidWebhook) as error:
            detail = str(error) if isinstance(error, InvalidWebhook) else "body is not JSON"
            raise HTTPException(status_code=400, detail=detail) from None
        new = await store.submit(batch)
        if wake_inbox is not None and new:
            wake_inbox.set()
        WEBHOOK_ITEMS.labels("message", "new").inc(new)
        WEBHOOK_ITEMS.labels("message", "duplicate").inc(len(batch.messages) - new)
        WEBHOOK_ITEMS.labels("status", "published").inc(len(batch.statuses))
        WEBHOOK_ITEMS.labels("other", "ignored").inc(batch.ignored)
        return {
            "messages": len(batch.messages),
            "new_messages": new,
            "statuses": len(batch.statuses),
        }

    return router
