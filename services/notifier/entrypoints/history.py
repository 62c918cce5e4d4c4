"""What was sent for a complaint, for operators: it says how and when a citizen was contacted,
so it is theirs alone (no addresses, no text)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel

from services.notifier.adapters import views
from services.notifier.entrypoints.access import OPERATORS_ONLY, Operator


class NotificationView(BaseModel):
    notification_id: uuid.UUID
    channel: str
    template: str
    language: str
    status: str
    delivery_status: str | None
    attempts: int
    trigger_event_type: str


def history_router(pool: Callable[[], asyncpg.Pool]) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/complaints/{complaint_id}/notifications",
        response_model=list[NotificationView],
        responses=OPERATORS_ONLY,
    )
    async def notifications(complaint_id: uuid.UUID, _: Operator) -> list[NotificationView]:
        """What was sent for a complaint, for operators (no addresses, no text)."""
        rows = await views.complaint_notifications(pool(), complaint_id)
        return [
            NotificationView(**{**dict(row), "trigger_event_type": row["trigger_type"]})
            for row in rows
        ]

    return router
